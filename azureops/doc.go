// Package azureops holds milink's Azure side: the Azure clouds and their endpoints,
// Microsoft Entra credentials that work over SSH (device code by default), Entra access
// tokens for SQL logins, and read-only Azure Resource Manager checks that return
// Finding values (package steps turns them into the report's findings):
//
//   - CheckPermissions compares the caller's effective RBAC permissions on the managed
//     instance with the actions the link needs ("SQL Managed Instance Contributor" or a
//     custom role with RequiredActions);
//   - CheckNSG reads the network security group of the managed instance's subnet and
//     evaluates the link's flows (inbound 5022 and 11000-11999 from SQL Server, outbound
//     5022 to it) with NSG semantics, naming the rule that blocks or allows each one;
//   - Cloud.Allowlist lists the hosts a corporate proxy or firewall must let through.
//
// Nothing in this package changes Azure: it only reads. Fixes are returned as az CLI
// commands for the administrator to run. Errors and findings never contain tokens or
// secrets.
package azureops
