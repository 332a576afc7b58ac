// Package sqlsim simulates a SQL Server instance and an Azure SQL Managed Instance well
// enough for milink to be developed, demonstrated and tested without either: it speaks
// real TDS over TCP (package sqlsim/tds), keeps the state of the instance (databases
// and their backups, logins, server and database role members, permissions, trace
// flags, configuration options, the master key, certificates, endpoints, user
// procedures, application locks and msdb's jobs, history, activity and step logs) and
// runs a SQL Server Agent whose PowerShell probe steps dial TCP connections through a
// Network that stays on loopback.
//
// Every batch and RPC is executed: package sqlsim/tsql parses the T-SQL, and the
// evaluator here runs it (SELECT with joins, subqueries, UNION, GROUP BY; variables,
// control flow, TRY…CATCH, EXEC of system and user procedures with OUTPUT parameters;
// the DDL and server commands a DBA uses) against the state. Which catalog views,
// DMVs and msdb tables exist, with which columns and permissions, is decided per
// personality (SQL Server 2016 SP3 … 2025 on Windows or Linux, or the managed
// instance) by package sqlsim/catalog, so a query SQL Server would reject fails here
// with the same error (Msg 208, 207, 300/297, 229, 2812, 102 …). Nothing reads
// milink's query tags.
package sqlsim
