// Package steps is the wizard's domain without any user interface: Introduction,
// Prerequisites, Login, NetworkOptions, Summary and Results as plain Go types that say
// what each step needs, what it checks and decides, and what it produces (findings with
// severity and exact fixes, the planned actions, the results per direction), plus an
// event stream of progress that a terminal UI or the CLI renders.
package steps
