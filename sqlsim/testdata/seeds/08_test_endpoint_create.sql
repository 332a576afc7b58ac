-- Source: Microsoft Learn, "Prepare your environment for a link - Azure SQL Managed Instance"
-- https://learn.microsoft.com/azure/azure-sql/managed-instance/managed-instance-link-preparation
-- (azure-sql-docs markdown, ms.date 10/03/2024; copy in /work/shared/seeds/001_3cd45d1f036b0d33.txt).
-- Verbatim except the documented placeholders, which tests substitute: <strong_password>,
-- <SQL_SERVER_IP_ADDRESS>, and the empty N'' values of @node/@port/@serverName.
-- Run on SQL Server
-- Create the certificate needed for the test endpoint
USE MASTER
CREATE CERTIFICATE TEST_CERT
WITH SUBJECT = N'Certificate for SQL Server',
EXPIRY_DATE = N'3/30/2051'
GO

-- Create the test endpoint on SQL Server
USE MASTER
CREATE ENDPOINT TEST_ENDPOINT
    STATE=STARTED
    AS TCP (LISTENER_PORT=5022, LISTENER_IP = ALL)
    FOR DATABASE_MIRRORING (
        ROLE=ALL,
        AUTHENTICATION = CERTIFICATE TEST_CERT,
        ENCRYPTION = REQUIRED ALGORITHM AES
    )
