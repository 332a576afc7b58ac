-- Source: Microsoft Learn, "Prepare your environment for a link - Azure SQL Managed Instance"
-- https://learn.microsoft.com/azure/azure-sql/managed-instance/managed-instance-link-preparation
-- (azure-sql-docs markdown, ms.date 10/03/2024; copy in /work/shared/seeds/001_3cd45d1f036b0d33.txt).
-- Verbatim except the documented placeholders, which tests substitute: <strong_password>,
-- <SQL_SERVER_IP_ADDRESS>, and the empty N'' values of @node/@port/@serverName.
-- Run on SQL Server
-- Create a master key
USE master;
GO
CREATE MASTER KEY ENCRYPTION BY PASSWORD = '<strong_password>';
