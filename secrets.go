// Secrets: read once, then removed from the environment.

package main

// secretEnv are the environment variables that hold milink's passwords.
var secretEnv = []string{"MILINK_SQL_PASSWORD", "MILINK_MI_PASSWORD", masterKeyEnv}

// takeSecrets reads the password variables once and removes them from the process
// environment, so that no child process (az for --azure-auth azure-cli, or any other
// program milink starts) inherits them. The getenv it returns still answers them from what was read.
func takeSecrets(lookup func(string) (string, bool), unset func(string) error, getenv func(string) string) func(string) string {
	kept := map[string]string{}
	for _, k := range secretEnv {
		if v, ok := lookup(k); ok {
			kept[k] = v
			_ = unset(k)
		}
	}
	return func(k string) string {
		if v, ok := kept[k]; ok {
			return v
		}
		return getenv(k)
	}
}
