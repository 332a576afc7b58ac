package ui

import (
	"fmt"
	"strings"

	"charm.land/huh/v2"

	"github.com/milink/milink/steps"
)

// offerFix is accessible mode's Fix action, after the Prerequisites: when milink can
// fix findings it asks whether to see the changes, lists each exact statement, asks
// for what they need (the backup directory; the master key password, twice, without
// echo), asks for consent, applies them, and prints each record and the prerequisites
// before → after. A restart is asked for on its own. Declining changes nothing; the
// prerequisites it returns are the ones checked last.
func (a *accessible) offerFix(pre *steps.Prerequisites) (*steps.Prerequisites, error) {
	host, _ := a.o.Prober.(steps.HostRunner)
	o := steps.PrepareOptions{Databases: a.cfg.Databases, SSH: host != nil}
	plan, err := a.sess.PlanPreparation(a.ctx, o)
	if err != nil {
		a.printf("Fix: %v\n", err)
		return pre, nil
	}
	n, needDir, needKey := 0, false, false
	for _, c := range plan.Changes {
		if c.Kind == steps.ChangeTSQL || c.Kind == steps.ChangeSSH {
			n++
			needDir = needDir || strings.HasPrefix(c.ID, "backup:")
			needKey = needKey || c.ID == "master-key"
		}
	}
	if n == 0 {
		return pre, nil
	}
	if ok, err := a.confirm(fmt.Sprintf("milink can apply %d change(s) on SQL Server %s to fix these. See them?", n, plan.Instance), false); err != nil || !ok {
		return pre, err
	}
	for i, c := range plan.Changes {
		a.printf("%d. %s [%s]\n", i+1, c.What, c.Kind)
		for _, s := range c.Statements {
			a.printf("     %s\n", s)
		}
		if c.Note != "" {
			a.printf("   %s\n", c.Note)
		}
	}
	var apply steps.ApplyOptions
	if needDir {
		if err := a.ask(huh.NewInput().Title("Backup directory on the SQL Server host (writable by the SQL Server service):").Value(&o.BackupDir)); err != nil {
			return pre, err
		}
		o.BackupDir = strings.TrimSpace(o.BackupDir)
		if plan, err = a.sess.PlanPreparation(a.ctx, o); err != nil {
			a.printf("Backup directory: %v. Nothing was changed.\n", err)
			return pre, nil
		}
	}
	if needKey {
		pw, err := a.askSecret("Master key password (keep it safe: milink never stores or shows it):")
		if err != nil {
			return pre, err
		}
		again, err := a.askSecret("Master key password again:")
		if err != nil {
			return pre, err
		}
		if pw == "" || pw != again {
			a.printf("The two passwords are empty or differ. Nothing was changed.\n")
			return pre, nil
		}
		apply.MasterKeyPassword = pw
	}
	if ok, err := a.confirm(fmt.Sprintf("Apply these changes to SQL Server %s now?", plan.Instance), false); err != nil || !ok {
		a.printf("Nothing was changed.\n")
		return pre, err
	}
	apply.Host = host
	apply.ConfirmRestart = func(instance string, sessions int) bool {
		ok, _ := a.confirm(fmt.Sprintf("Restart SQL Server %s now? It has %d open user session(s), which the restart cuts.", instance, sessions), false)
		return ok
	}
	out, err := a.sess.ApplyPreparation(a.ctx, plan, apply)
	if out == nil {
		return pre, err
	}
	for _, r := range out.Records {
		a.printf("  %-8s %s (%s)\n", r.Status, r.What, r.By)
		a.log.Info("prepare change", "id", r.ID, "status", r.Status, "by", r.By, "statements", strings.Join(r.Statements, " "), "error", r.Error)
		for _, s := range []string{r.Output, r.Error, r.LeftAsIs} {
			if s != "" {
				a.printf("           %s\n", s)
			}
		}
	}
	for _, c := range out.Changed {
		a.printf("  %s: %s → %s\n", c.ID, c.Before, c.After)
	}
	if err != nil || out.After == nil {
		return pre, err
	}
	a.printFindings(out.After.Findings, out.After.Platform())
	return out.After, nil
}
