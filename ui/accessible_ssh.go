package ui

import (
	"strings"

	"charm.land/huh/v2"

	"github.com/milink/milink/steps"
)

// askSSH asks how to reach the SQL Server host over SSH (host, user, port, key file,
// known_hosts), as the wizard's Network Options fields do, until the answers are
// valid; the session uses them for the network test.
func (a *accessible) askSSH(sqlHost string) (steps.SSHConfig, error) {
	fields := sshFields(a.cfg.SSH)
	vals := make([]string, len(fields))
	for i, f := range fields {
		vals[i] = f.input.Value()
	}
	for {
		defs := append([]string(nil), vals...)
		defs[0] = orDefault(defs[0], sqlHost)
		var inputs []huh.Field
		for i, f := range fields {
			inputs = append(inputs, huh.NewInput().Title(withDefault(f.label, defs[i])).Value(&vals[i]))
		}
		if err := a.ask(inputs...); err != nil {
			return steps.SSHConfig{}, err
		}
		for i := range vals {
			vals[i] = orDefault(strings.TrimSpace(vals[i]), defs[i])
		}
		c, err := buildSSHConfig(a.cfg.SSH, sqlHost, vals[0], vals[1], vals[2], vals[3], vals[4])
		if err == nil {
			a.sess.SetSSH(c)
			a.printf("SSH to %s\n", c.Host)
			return c, nil
		}
		a.printf("Error: %v\n", err)
		if a.in.ended() {
			return c, errInputEnded
		}
	}
}
