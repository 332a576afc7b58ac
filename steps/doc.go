// Package steps is milink's flow and domain without any user interface. Session is
// the one flow every front-end drives (the wizard, the accessible prompts, milink
// check): it owns the step order Introduction › Prerequisites › Login › Network
// Options › Summary › Results, the state carried between steps, and what back,
// re-run and cancel mean. The steps' outcomes are plain Go types that say what each
// step checked and decided (findings with severity and exact fixes, the plan, the
// results per direction), with an event stream of progress and a report in text, JSON
// and Markdown. Probers live in steps/probe; T-SQL in sqlops; Azure in azureops.
package steps
