// Package sqlops holds every T-SQL operation milink performs against SQL Server and
// Azure SQL Managed Instance: connecting, the prerequisite queries, discovery of the
// managed instance's HADR parameters, the Agent job lifecycle, the test endpoint and
// certificate lifecycle, and the cleanup of leftovers.
//
// Rules kept throughout the package:
//   - every value that reaches T-SQL travels as a parameter; the few identifiers that
//     DDL needs are validated by ValidateIdentifier and bracket-quoted by QuoteIdentifier;
//   - every SELECT carries a stable tag comment ("/* milink:NAME */") so that the
//     simulator in package sqlsim dispatches on the tag, never on brittle query text;
//   - every object milink creates carries a mark only this user's key can produce for it
//     (Key.Mark) and nothing is ever dropped unless it is milink's by every test
//     (Key.Owns: a milink name and that mark; an endpoint through its certificate), its
//     run is over (RunLive) and, after dropping, the catalog is read back (ErrStillThere).
package sqlops
