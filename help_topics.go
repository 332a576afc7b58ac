// Help texts: milink check's description and examples, the help topics (milink help
// exit-codes, milink help environment), and the warning for a MILINK_* variable milink
// does not know.

package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// checkLong is the description of milink check --help.
const checkLong = `check does the wizard's work without a terminal UI, for scripts and CI: it checks
the link prerequisites, connects to SQL Server and the managed instance, tests the
network in both directions, cleans up, prints progress on stderr and the report
(--output text, json or markdown) on stdout. The exit code says how it went (see
'milink help exit-codes').

Passwords come only from MILINK_SQL_PASSWORD / MILINK_MI_PASSWORD,
--sql-password-stdin / --mi-password-stdin (one line each, SQL Server first), or a
prompt on a terminal. Every other flag can also be set as MILINK_<FLAG> or in the
JSON file of --config (see 'milink help environment').

With --watch, check tests the network again every interval until both directions
pass or it is stopped (Ctrl-C cleans up as usual), one status line a round; the
passwords are read once.

With --inventory FILE, check tests many pairs at once (YAML or JSON; see the
README) and exits with the worst pair's code.`

// checkExample is the Examples section of milink check --help.
const checkExample = `  # both directions, the report as Markdown for the network team
  export MILINK_SQL_PASSWORD MILINK_MI_PASSWORD
  milink check --sql-server sqlprod01.contoso.local --sql-user sa \
    --mi-server sqlmi-demo.6d710bcf372b.database.windows.net \
    --mi-user miadmin --output markdown > link-check.md

  # test again every 10 s while the firewall rules are changed
  milink check --sql-server sqlprod01 --sql-user sa --mi-server sqlmi-demo \
    --mi-user miadmin --watch 10s

  # SQL Server on Linux: probe from its host over SSH, the report as JSON
  milink check --sql-server 10.1.0.4 --sql-user sa --ssh admin@10.1.0.4 \
    --mi-server sqlmi-demo --mi-user miadmin -o json`

// exitCodesHelp is the text of 'milink help exit-codes'.
const exitCodesHelp = `Exit codes of milink, milink check and the wizard:

  0    every prerequisite met, both directions passed, and cleanup removed
       everything the run created
  1    milink could not complete the run (connection error, ...), or test objects
       are left: stderr then prints the 'milink cleanup ...' command line, with the
       same server flags and no password, that removes them
  2    bad flags or input; nothing was created (the error names the flag, and in
       the wizard the field, to fix)
  3    a network probe failed, or a direction could not be tested
  4    a login was rejected
  5    the network is fine but a link prerequisite is not met
  130  stopped by SIGINT, SIGTERM, SIGHUP, SIGQUIT or SIGPIPE, and nothing the run
       created is left (or nothing had been created yet)

Only a second Ctrl-C, 500 ms or more after the first signal, abandons the cleanup
(exit 1 and the 'milink cleanup ...' line); repeated SIGTERM, SIGHUP, SIGQUIT and
SIGPIPE never do.

milink check --watch exits with the code of its last round; milink check
--inventory with the worst pair's code, worst first: 1, 130, 2, 4, 3, 5, 0.

milink cleanup exits 0 when nothing removable is left, 1 otherwise (also with
--dry-run, when it was stopped before it finished, or removal was declined), 2 for
bad input.`

// exitCodesTopic is 'milink help exit-codes'.
func exitCodesTopic() *cobra.Command {
	return &cobra.Command{Use: "exit-codes", Short: "What milink's exit codes mean", Long: exitCodesHelp}
}

// otherVariables are the variables milink reads that set no flag, with what they do.
var otherVariables = [][2]string{
	{"MILINK_SQL_PASSWORD", "the SQL Server password (read once, then removed from milink's environment)"},
	{"MILINK_MI_PASSWORD", "the managed instance password (read once, then removed)"},
	{"MILINK_MASTER_KEY_PASSWORD", "milink prepare: the password of the database master key it creates (read once, then removed)"},
	{"MILINK_PW*", "check --inventory: the password variables an inventory names in sql_password_env/mi_password_env (read once, then removed); never warned about"},
	{"XDG_STATE_HOME", "where milink keeps its key, known_servers and log: $XDG_STATE_HOME/milink (default ~/.local/state/milink)"},
	{"TERM", "TERM=dumb runs the wizard as plain prompts (--accessible)"},
	{"KRB5CCNAME", "Kerberos ticket cache (default /tmp/krb5cc_<uid>)"},
	{"KRB5_CONFIG", "krb5.conf with the realm's KDCs (default /etc/krb5.conf)"},
	{"SSH_AUTH_SOCK", "the ssh-agent for --ssh (unless --ssh-no-agent)"},
	{"AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET, ...", "Entra sign-in for --mi-auth/--azure-auth environment (secrets removed from the environment once read)"},
}

// knownVariables lists every MILINK_* variable of root's commands, sorted, with the
// usage of the flag it sets (the first command's, when several have the flag).
func knownVariables(root *cobra.Command) (names []string, usage map[string]string) {
	usage = map[string]string{}
	for _, c := range append([]*cobra.Command{root}, root.Commands()...) {
		if _, no := c.Annotations[noEnv]; no {
			continue
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if env := envName(f); env != "" && usage[env] == "" {
				usage[env] = "--" + f.Name
				names = append(names, env)
			}
		})
	}
	for _, v := range otherVariables[:3] { // the MILINK_ password variables
		usage[v[0]] = v[1]
		names = append(names, v[0])
	}
	slices.Sort(names)
	return names, usage
}

// environmentTopic is 'milink help environment': every variable milink reads.
func (a *app) environmentTopic(root *cobra.Command) *cobra.Command {
	names, usage := knownVariables(root)
	var b strings.Builder
	b.WriteString(`Every flag can be set as MILINK_<FLAG>: the flag's name in capitals, "-" as "_"
(--sql-server is MILINK_SQL_SERVER). A flag given on the command line wins over the
variable, which wins over the file of --config. --config, --*-password-stdin, --help
and --version have no variable, nor have check's --inventory, --parallel,
--pair-timeout and --report-dir: they are read from the command line only. A
MILINK_* variable milink does not know is reported on stderr, by name only (its
value may be a secret).

Passwords never come from flags or --config: only from MILINK_SQL_PASSWORD /
MILINK_MI_PASSWORD, --sql-password-stdin / --mi-password-stdin, or a prompt.

Other variables milink reads:

`)
	for _, v := range otherVariables {
		fmt.Fprintf(&b, "  %s\n      %s\n", v[0], v[1])
	}
	b.WriteString("\nThe MILINK_* variables and the flags they set:\n\n")
	for _, n := range names {
		if strings.HasPrefix(usage[n], "--") {
			fmt.Fprintf(&b, "  %-36s %s\n", n, usage[n])
		}
	}
	return &cobra.Command{Use: "environment", Short: "The environment variables milink reads", Long: b.String()}
}

// inventoryPasswordPrefix starts the names of the password variables the README's
// inventory example uses (sql_password_env: MILINK_PW_SQLPROD01): milink cannot know
// them before it reads the inventory, so they are never warned about.
const inventoryPasswordPrefix = "MILINK_PW"

// warnUnknownVariables prints a warning on stderr for every MILINK_* variable in the
// environment that no flag of root reads (other than MILINK_PW*, the inventory's
// password variables), with the closest known name; a variable named after one of
// the inventory run's flags (MILINK_INVENTORY) is said to be ignored, those flags
// being command line only. Only names are printed, never values: a mistyped password
// variable must not be echoed.
func (a *app) warnUnknownVariables(root *cobra.Command) {
	environ := a.environ
	if environ == nil {
		environ = os.Environ
	}
	names, _ := knownVariables(root)
	for _, kv := range environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "MILINK_") || strings.HasPrefix(name, inventoryPasswordPrefix) || slices.Contains(names, name) {
			continue
		}
		if flag := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, "MILINK_"), "_", "-")); inventoryFlag(flag) {
			fmt.Fprintf(a.stderr, "milink: warning: %s is not read: --%s is taken from the command line only (see 'milink help environment')\n", name, flag)
			continue
		}
		hint := ""
		if s := closest(name, names); s != "" {
			hint = "; did you mean " + s + "?"
		}
		fmt.Fprintf(a.stderr, "milink: warning: %s is not a variable milink reads%s (see 'milink help environment')\n", name, hint)
	}
}
