// Package sqlsim simulates a SQL Server instance and an Azure SQL Managed Instance well
// enough for milink to be developed, demonstrated and tested without either: it speaks
// real TDS over TCP (package sqlsim/tds), keeps a model of the instance (version,
// HADR, trace flags, master key, databases, logins, endpoints, certificates and msdb's
// jobs, history, activity and step logs) and runs a real SQL Server Agent whose
// PowerShell probe steps dial real TCP connections through a Network.
//
// Queries are dispatched without brittle text matching: milink's SELECTs carry a tag
// comment ("/* milink:NAME */", see package sqlops), procedures are dispatched by RPC
// name with named parameters, and the few DDL statements milink sends go through a
// small tokenizer.
package sqlsim
