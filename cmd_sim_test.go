package main

import (
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/milink/milink/sqlops"
)

// TestSimPersonalityAndEncryptOff: 'milink sim --sql-version 2016 --encrypt off' is a
// SQL Server 2016 SP3 that a client without our CA reaches with encryption off, and
// that has no sys.dm_os_host_info (it appeared in 2017: Msg 208, as on a real 2016).
func TestSimPersonalityAndEncryptOff(t *testing.T) {
	bin := milinkBinary(t)
	p := startSimProcess(t, bin, "50ms", "--sql-version", "2016", "--encrypt", "off")
	host, port := splitAddr(t, p.sqlAddr)
	n, _ := strconv.Atoi(port)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := sqlops.Open(ctx, sqlops.ConnConfig{Role: "sim", Host: host, Port: n, User: "sa", Password: "Sim-Passw0rd!", Encrypt: sqlops.EncryptDisable})
	if err != nil {
		t.Fatalf("connect with encryption off and no CA: %v", err)
	}
	defer c.Close()
	var v string
	if err := c.DB.QueryRowContext(ctx, "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(32))").Scan(&v); err != nil || v != "13.0.7000.253" {
		t.Fatalf("ProductVersion %q, %v; want 13.0.7000.253", v, err)
	}
	var plat string
	err = c.DB.QueryRowContext(ctx, "SELECT host_platform FROM sys.dm_os_host_info").Scan(&plat)
	var me mssql.Error
	if !errors.As(err, &me) || me.Number != 208 {
		t.Fatalf("sys.dm_os_host_info on 2016: %v, want Msg 208", err)
	}
}

// TestSimRejectsImpossiblePersonality: SQL Server 2016 never ran on Linux.
func TestSimRejectsImpossiblePersonality(t *testing.T) {
	bin := milinkBinary(t)
	out, err := exec.Command(bin, "sim", "--sql-version", "2016", "--sql-platform", "Linux", "--listen", "127.0.0.1:0", "--mi-listen", "127.0.0.1:0").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit %v, want 2 (usage)\n%s", err, out)
	}
	if !strings.Contains(string(out), "--sql-version") {
		t.Errorf("the error does not name the flag:\n%s", out)
	}
}

// TestSimMITier: 'milink sim --mi-tier BusinessCritical --mi-update-policy
// AlwaysUpToDate' is a managed instance whose master.sys.server_resource_stats reports
// Business Critical and whose ProductUpdateType is Continuous; a tier or policy that
// does not exist is a usage error naming the flag, before anything listens.
func TestSimMITier(t *testing.T) {
	bin := milinkBinary(t)
	out, err := exec.Command(bin, "sim", "--mi-tier", "Hyperscale", "--listen", "127.0.0.1:0", "--mi-listen", "127.0.0.1:0").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "--mi-tier") || strings.Contains(string(out), "listening") {
		t.Fatalf("exit %v, want 2 naming --mi-tier\n%s", err, out)
	}
	out, err = exec.Command(bin, "sim", "--mi-update-policy", "SQLServer2019", "--listen", "127.0.0.1:0", "--mi-listen", "127.0.0.1:0").CombinedOutput()
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "--mi-update-policy") || strings.Contains(string(out), "listening") {
		t.Fatalf("exit %v, want 2 naming --mi-update-policy\n%s", err, out)
	}
	p := startSimProcess(t, bin, "50ms", "--mi-tier", "BusinessCritical", "--mi-update-policy", "alwaysuptodate")
	host, port := splitAddr(t, p.miAddr)
	n, _ := strconv.Atoi(port)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := sqlops.Open(ctx, sqlops.ConnConfig{Role: "sim", Host: host, Port: n, User: "miadmin", Password: "Sim-Passw0rd!", TrustServerCertificate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if tier, err := c.MIServiceTier(ctx); err != nil || tier != sqlops.TierBusinessCritical {
		t.Errorf("tier %q, %v; want %s", tier, err, sqlops.TierBusinessCritical)
	}
	if ut, err := c.MIUpdateType(ctx); err != nil || ut != "Continuous" {
		t.Errorf("ProductUpdateType %q, %v; want Continuous (Always-up-to-date)", ut, err)
	}
}
