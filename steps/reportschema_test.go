package steps_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/milink/milink/sqlsim"
	"github.com/milink/milink/steps"
	"github.com/milink/milink/steps/reportschema"
)

// checkSchema fails t when rep's JSON does not match testdata/report.schema.json.
func checkSchema(t *testing.T, rep *steps.Report) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	reportschema.Check(t, b.Bytes())
	return b.Bytes()
}

// TestReportsMatchSchema: the reports of a passing run, a failed run, a run stopped by a
// fatal error, a run whose SQL Server → MI direction was not run and then got pasted
// probe results, and a run whose cleanup left an object all match the JSON Schema, and
// carry schema_version 2, direction ids and durations in float seconds.
func TestReportsMatchSchema(t *testing.T) {
	t.Run("pass", func(t *testing.T) {
		cfg := pairConfig(t, startPair(t, "pass", 0, 0))
		rep := steps.Check(context.Background(), cfg, nil)
		if rep.ExitCode != steps.ExitOK {
			t.Fatalf("exit %d: %s", rep.ExitCode, rep.Outcome)
		}
		var m map[string]any
		if err := json.Unmarshal(checkSchema(t, rep), &m); err != nil {
			t.Fatal(err)
		}
		dirs := m["directions"].([]any)
		var ids []string
		for _, d := range dirs {
			d := d.(map[string]any)
			ids = append(ids, d["direction"].(string))
			if s, ok := d["elapsed_s"].(float64); !ok || s <= 0 || s > 60 {
				t.Errorf("elapsed_s %v: want float seconds", d["elapsed_s"])
			}
		}
		slices.Sort(ids)
		if !slices.Equal(ids, []string{steps.MIToSQLID, steps.SQLToMIID}) || m["schema_version"] != float64(steps.SchemaVersion) {
			t.Errorf("direction ids %q, schema_version %v", ids, m["schema_version"])
		}
		if s, ok := m["duration_s"].(float64); !ok || s <= 0 || s > 60 {
			t.Errorf("duration_s %v: want float seconds", m["duration_s"])
		}
		mi := m["network"].(map[string]any)["mi"].(map[string]any)
		if mi["fqdn"] == "" || mi["hadr_port"] == nil {
			t.Errorf("network.mi %v: want fqdn, node, hadr_port", mi)
		}
	})
	t.Run("failed", func(t *testing.T) {
		cfg := pairConfig(t, startPair(t, "blocked-5022", 0, 0))
		rep := steps.Check(context.Background(), cfg, nil)
		if rep.ExitCode != steps.ExitConnectivity {
			t.Fatalf("exit %d: %s", rep.ExitCode, rep.Outcome)
		}
		checkSchema(t, rep)
	})
	t.Run("fatal", func(t *testing.T) {
		cfg := pairConfig(t, startPair(t, "pass", 0, 0))
		cfg.SQLServer.Password = "wrong-password"
		rep := steps.Check(context.Background(), cfg, nil)
		if rep.Error == "" {
			t.Fatalf("no error with a wrong password: %s", rep.Outcome)
		}
		checkSchema(t, rep)
	})
	t.Run("not run, then pasted", func(t *testing.T) {
		p, err := sqlsim.LookupScenario("agent-stopped")
		if err != nil {
			t.Fatal(err)
		}
		pair, err := sqlsim.StartPair(p, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pair.Close)
		s := steps.NewSession(pairConfig(t, pair), steps.SessionOptions{})
		defer s.Close()
		rep := s.RunAll(context.Background(), nil)
		if d := direction(t, rep, steps.SQLToMI); d.Status != steps.StatusNotRun {
			t.Fatalf("SQL Server → MI %s, want not run", d.Status)
		}
		var lines []string
		for _, tg := range s.Plan().Options.SQLToMITargets() {
			lines = append(lines, tg.Host+":"+strconv.Itoa(tg.Port)+" TcpTestSucceeded : True")
		}
		rep, err = s.ApplyPastedProbes(strings.Join(lines, "\n") + "\n")
		if err != nil {
			t.Fatal(err)
		}
		if d := direction(t, rep, steps.SQLToMI); len(d.Probes) == 0 {
			t.Fatal("pasted probes not in the report")
		}
	})
	t.Run("prepared", func(t *testing.T) {
		// A preparation's records (changes) and before → after (prerequisite_changes).
		cfg := pairConfig(t, startPair(t, "pass", 0, 0))
		dba(t, cfg, "EXEC sp_configure 'show advanced options', 1; RECONFIGURE; EXEC sp_configure 'Agent XPs', 0; RECONFIGURE;")
		s := steps.NewSession(cfg, steps.SessionOptions{})
		defer s.Close()
		ctx := context.Background()
		if err := s.ConnectSQLServer(ctx, cfg.SQLServer); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CheckPrerequisites(ctx); err != nil {
			t.Fatal(err)
		}
		plan, err := s.PlanPreparation(ctx, steps.PrepareOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplyPreparation(ctx, plan, steps.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(checkSchema(t, s.Report()), &m); err != nil {
			t.Fatal(err)
		}
		if ch, _ := m["changes"].([]any); len(ch) == 0 || m["prerequisite_changes"] == nil {
			t.Errorf("no changes or prerequisite_changes in the report: %v / %v", m["changes"], m["prerequisite_changes"])
		}
	})
	t.Run("cleanup remaining", func(t *testing.T) {
		rep := steps.NewReport(steps.Config{RunID: "0123456789abcdef"})
		rep.Duration = 1500 * time.Millisecond
		rep.SetResults(&steps.Results{Interrupted: true, Cleanup: []steps.CleanupItem{
			{Server: "SQL Server", Kind: "job", Name: "TestMILinkConnection", Remains: true, Error: "connection lost"}}})
		if len(rep.Remaining) != 1 {
			t.Fatalf("remaining %v", rep.Remaining)
		}
		var m map[string]any
		if err := json.Unmarshal(checkSchema(t, rep), &m); err != nil || m["duration_s"] != 1.5 {
			t.Errorf("duration_s %v (%v), want 1.5", m["duration_s"], err)
		}
	})
}

// TestReportSchemaRejects: the schema is not a rubber stamp: old (version 1) keys, a
// direction's display name and a nanosecond "duration" are each refused.
func TestReportSchemaRejects(t *testing.T) {
	rep := steps.NewReport(steps.Config{RunID: "r"})
	rep.SetResults(&steps.Results{Directions: []steps.DirectionResult{{Direction: steps.SQLToMI, Status: steps.StatusPassed, Elapsed: time.Second}}})
	var good bytes.Buffer
	if err := rep.WriteJSON(&good); err != nil {
		t.Fatal(err)
	}
	if err := reportschema.Validate(good.Bytes()); err != nil {
		t.Fatalf("good report refused: %v", err)
	}
	for _, c := range []struct{ name, from, to string }{
		{"schema_version 1", `"schema_version": 2`, `"schema_version": 1`},
		{"direction name", `"direction": "sql_to_mi"`, `"direction": "SQL Server → managed instance"`},
		{"nanoseconds", `"elapsed_s": 1`, `"elapsed": 1000000000`},
		{"CamelCase key", `"run_id"`, `"RunID"`},
	} {
		bad := strings.Replace(good.String(), c.from, c.to, 1)
		if bad == good.String() {
			t.Fatalf("%s: %q not in the report\n%s", c.name, c.from, good.String())
		}
		if err := reportschema.Validate([]byte(bad)); err == nil {
			t.Errorf("%s: schema accepted %s", c.name, bad)
		}
	}
	var back steps.Report
	if err := json.Unmarshal(good.Bytes(), &back); err != nil || back.Directions[0].Elapsed != time.Second || back.Directions[0].Direction != steps.SQLToMI {
		t.Errorf("round trip: %+v, %v", back.Directions, err)
	}
	old := strings.Replace(good.String(), `"schema_version": 2`, `"schema_version": 1`, 1)
	if err := json.Unmarshal([]byte(old), &back); err == nil || !strings.Contains(err.Error(), "schema_version 1") {
		t.Errorf("version 1 report read: %v", err)
	}
}

// TestTrustWithPinIsVerified: trust server certificate with a pinned fingerprint is
// not reported as "not verified" (the pin verifies it); without a pin it is.
func TestTrustWithPinIsVerified(t *testing.T) {
	pinned := steps.NewReport(steps.Config{SQLServer: steps.ConnConfig{TrustServerCertificate: true, CertSHA256: strings.Repeat("ab", 32)}})
	if w := strings.Join(pinned.Warnings, "\n"); strings.Contains(w, "not verified") {
		t.Errorf("pinned certificate reported as not verified: %s", w)
	}
	bare := steps.NewReport(steps.Config{SQLServer: steps.ConnConfig{TrustServerCertificate: true}})
	if w := strings.Join(bare.Warnings, "\n"); !strings.Contains(w, "SQL Server's TLS certificate was not verified") {
		t.Errorf("trust without a pin: warnings %q", bare.Warnings)
	}
}
