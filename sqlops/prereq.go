package sqlops

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// ServerInfo is what SERVERPROPERTY, @@VERSION and sys.dm_os_host_info say about an
// instance (https://learn.microsoft.com/sql/t-sql/functions/serverproperty-transact-sql).
type ServerInfo struct {
	ProductVersion   string `json:"product_version"`
	Edition          string `json:"edition"`
	EngineEdition    int    `json:"engine_edition"` // 8 = Azure SQL Managed Instance
	HadrEnabled      bool   `json:"hadr_enabled"`
	ServerName       string `json:"server_name"`
	VersionText      string `json:"version_text"`
	MachineName      string `json:"machine_name"`  // SERVERPROPERTY('MachineName'): the Windows computer / Linux host name
	HostPlatform     string `json:"host_platform"` // "Windows" or "Linux"
	HostDistribution string `json:"host_distribution"`
	// HostInfoNote says why sys.dm_os_host_info was not read and the platform came
	// from @@VERSION instead ("" when it was read).
	HostInfoNote string `json:"host_info_note"`
}

// IsManagedInstance reports whether the instance is an Azure SQL Managed Instance.
func (s ServerInfo) IsManagedInstance() bool { return s.EngineEdition == 8 }

// Msg numbers of permission and missing-object errors, which make a prerequisite
// unreadable rather than the check impossible
// (https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors).
const (
	ErrNumInvalidObject    = 208 // Invalid object name (a DMV this version lacks)
	ErrNumPermissionDenied = 229 // The SELECT/EXECUTE permission was denied on the object
	ErrNumNoUserPermission = 297 // The user does not have permission to perform this action
	ErrNumServerPermission = 300 // VIEW SERVER STATE (or a 2022+ granular permission) was denied
	ErrNumCannotOpenDB     = 916 // the server principal is not able to access the database
)

// Unreadable reports whether err means that a query could not read what it asked for
// because of a permission or a missing object (Msg 208, 229, 297, 300, 916), as opposed
// to a broken connection.
func Unreadable(err error) bool {
	switch SQLError(err) {
	case ErrNumInvalidObject, ErrNumPermissionDenied, ErrNumNoUserPermission, ErrNumServerPermission, ErrNumCannotOpenDB:
		return true
	}
	return false
}

// ServerInfo reads the instance's version, edition, HADR flag, machine name and
// platform. Where sys.dm_os_host_info is missing (SQL Server 2016: Msg 208; the DMV is
// 2017+, sys-dm-os-host-info-transact-sql) or not readable (Msg 300), the platform
// comes from @@VERSION ("... on Linux (...)" on Linux; 2016 is Windows only).
func (c *Conn) ServerInfo(ctx context.Context) (ServerInfo, error) {
	s, err := c.serverInfo(ctx, TagServerInfo)
	if err != nil && Unreadable(err) {
		note := fmt.Sprintf("sys.dm_os_host_info could not be read (%v); the platform was taken from @@VERSION", err)
		s, err = c.serverInfo(ctx, TagServerInfoBasic)
		s.HostInfoNote = note
		if strings.Contains(s.VersionText, " on Linux") {
			s.HostPlatform = "Linux"
		}
	}
	if err != nil {
		return s, fmt.Errorf("read server properties: %w", err)
	}
	return s, nil
}

func (c *Conn) serverInfo(ctx context.Context, tag string) (ServerInfo, error) {
	var s ServerInfo
	var plat, dist, machine sql.NullString
	var hadr sql.NullInt64
	err := c.DB.QueryRowContext(ctx, Query(tag)).Scan(&s.ProductVersion, &s.Edition, &s.EngineEdition, &hadr, &s.ServerName, &s.VersionText, &machine, &plat, &dist)
	if err != nil {
		return s, err
	}
	s.HadrEnabled = hadr.Int64 == 1
	s.MachineName = machine.String
	s.HostPlatform = plat.String
	if s.HostPlatform == "" {
		s.HostPlatform = "Windows"
	}
	s.HostDistribution = dist.String
	return s, nil
}

// HasMasterKey reports whether master has a database master key.
func (c *Conn) HasMasterKey(ctx context.Context) (bool, error) {
	var n int
	if err := c.DB.QueryRowContext(ctx, Query(TagMasterKey)).Scan(&n); err != nil {
		return false, fmt.Errorf("look for the database master key: %w", err)
	}
	return n > 0, nil
}

// TraceFlag is one row of DBCC TRACESTATUS.
type TraceFlag struct {
	Flag    int
	Status  bool
	Global  bool
	Session bool
}

// TraceFlags returns the globally enabled trace flags.
func (c *Conn) TraceFlags(ctx context.Context) ([]TraceFlag, error) {
	rows, err := c.DB.QueryContext(ctx, Query(TagTraceFlags))
	if err != nil {
		return nil, fmt.Errorf("read trace flags: %w", err)
	}
	defer rows.Close()
	var out []TraceFlag
	for rows.Next() {
		var f, st, gl, se int
		if err := rows.Scan(&f, &st, &gl, &se); err != nil {
			return nil, fmt.Errorf("read trace flags: %w", err)
		}
		out = append(out, TraceFlag{Flag: f, Status: st == 1, Global: gl == 1, Session: se == 1})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read trace flags: %w", err)
	}
	return out, nil
}

// AgentState is the SQL Server Agent state: the service's status from
// sys.dm_server_services and the 'Agent XPs' option from sys.configurations
// (https://learn.microsoft.com/sql/database-engine/configure-windows/agent-xps-server-configuration-option).
type AgentState struct {
	Status   string `json:"status"` // e.g. "Running", "Stopped"; "" when not visible
	AgentXPs bool   `json:"agent_xps"`
	XPsKnown bool   `json:"xps_known"`
	// Unreadable says why the service status could not be read (sys.dm_server_services
	// needs VIEW SERVER STATE, on 2022+ VIEW SERVER SECURITY STATE: Msg 300); "" when it was.
	Unreadable string `json:"unreadable,omitempty"`
}

// Running reports whether Agent runs and can be used.
func (a AgentState) Running() bool { return a.Status == "Running" && (!a.XPsKnown || a.AgentXPs) }

// ServiceRunning reports whether the Agent service runs, whatever 'Agent XPs' says.
func (a AgentState) ServiceRunning() bool { return a.Status == "Running" }

// Known reports whether the service status could be read.
func (a AgentState) Known() bool { return a.Unreadable == "" }

// Agent reads the SQL Server Agent state. When sys.dm_server_services cannot be read
// (Msg 300 without VIEW SERVER STATE; Msg 208 where it does not exist) it still reads
// 'Agent XPs' and says in Unreadable why the status is unknown.
func (c *Conn) Agent(ctx context.Context) (AgentState, error) {
	var st sql.NullString
	var xps sql.NullInt64
	err := c.DB.QueryRowContext(ctx, Query(TagAgent)).Scan(&st, &xps)
	if err != nil && Unreadable(err) {
		why := err.Error()
		if err := c.DB.QueryRowContext(ctx, Query(TagAgentXPs)).Scan(&xps); err != nil {
			return AgentState{}, fmt.Errorf("read SQL Server Agent state: %w", err)
		}
		return AgentState{AgentXPs: xps.Int64 == 1, XPsKnown: xps.Valid, Unreadable: why}, nil
	}
	if err != nil {
		return AgentState{}, fmt.Errorf("read SQL Server Agent state: %w", err)
	}
	return AgentState{Status: st.String, AgentXPs: xps.Int64 == 1, XPsKnown: xps.Valid}, nil
}

// Database describes one user database for the link prerequisites.
type Database struct {
	Name           string     `json:"name"`
	RecoveryModel  string     `json:"recovery_model"`
	State          string     `json:"state"`
	LastFullBackup *time.Time `json:"last_full_backup"`
	// LogChain is whether the database has a current log chain:
	// sys.database_recovery_status.last_log_backup_lsn is not NULL. It is NULL in
	// SIMPLE recovery and, after a switch back to FULL, until the next full (or
	// differential) backup, even when an older full backup exists
	// (https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-database-recovery-status-transact-sql).
	// nil when the row could not be seen.
	LogChain *bool `json:"log_chain,omitempty"`
	LogFiles int   `json:"log_files"`
	// FilestreamFiles are FILESTREAM containers in a FILESTREAM filegroup (FD);
	// MemoryOptimizedFiles those of a MEMORY_OPTIMIZED_DATA filegroup (FX, In-Memory
	// OLTP). Both are sys.master_files type 2. When the filegroups could not be read,
	// every type-2 file counts as FILESTREAM and FilegroupsUnreadable says why.
	FilestreamFiles      int    `json:"filestream_files"`
	MemoryOptimizedFiles int    `json:"memory_optimized_files"`
	FilegroupsUnreadable string `json:"filegroups_unreadable,omitempty"`
	EncryptionState      int    `json:"encryption_state"` // from sys.dm_database_encryption_keys; 3 = encrypted; -1 = not readable
	// TDECertificate and TDEThumbprint name the certificate in master that protects
	// the database encryption key (encryptor_thumbprint = sys.certificates.thumbprint);
	// TDECertificate is "" when no certificate in master has that thumbprint.
	TDECertificate string `json:"tde_certificate,omitempty"`
	TDEThumbprint  []byte `json:"tde_thumbprint,omitempty"`
}

// Databases lists the user databases. A database's LastFullBackup is its last full
// backup that starts a log chain (not COPY_ONLY) of this incarnation of the database.
// When sys.dm_database_encryption_keys cannot be read (Msg 300) EncryptionState is -1.
func (c *Conn) Databases(ctx context.Context) ([]Database, error) {
	rows, err := c.DB.QueryContext(ctx, Query(TagDatabases))
	if err != nil && Unreadable(err) {
		rows, err = c.DB.QueryContext(ctx, Query(TagDatabasesNoTDE))
	}
	if err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	defer rows.Close()
	var out []Database
	for rows.Next() {
		var d Database
		var last sql.NullTime
		var cert sql.NullString
		var chain sql.NullInt64
		if err := rows.Scan(&d.Name, &d.RecoveryModel, &d.State, &last, &d.LogFiles, &chain, &d.FilestreamFiles, &d.EncryptionState, &d.TDEThumbprint, &cert); err != nil {
			return nil, fmt.Errorf("list databases: %w", err)
		}
		d.TDECertificate = cert.String
		if chain.Valid {
			c := chain.Int64 == 1
			d.LogChain = &c
		}
		if last.Valid {
			t := last.Time
			d.LastFullBackup = &t
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	rows.Close()
	for i := range out {
		if out[i].FilestreamFiles == 0 {
			continue
		}
		if err := c.classifyContainers(ctx, &out[i]); err != nil {
			if !Unreadable(err) {
				return nil, err
			}
			out[i].FilegroupsUnreadable = err.Error()
		}
	}
	return out, nil
}

// classifyContainers splits a database's FILESTREAM-type files (sys.master_files
// type 2, which covers FILESTREAM and memory-optimized containers) by their
// filegroup's type: FD FILESTREAM, FX In-Memory OLTP. Reading the database's
// sys.filegroups needs access to it (Msg 916 otherwise).
func (c *Conn) classifyContainers(ctx context.Context, d *Database) error {
	rows, err := c.DB.QueryContext(ctx, QueryIn(TagFilegroups, d.Name), sql.Named("db", d.Name))
	if err != nil {
		return fmt.Errorf("read the filegroups of %s: %w", d.Name, err)
	}
	defer rows.Close()
	var fd, fx int
	for rows.Next() {
		var typ string
		var n int
		if err := rows.Scan(&typ, &n); err != nil {
			return fmt.Errorf("read the filegroups of %s: %w", d.Name, err)
		}
		if strings.TrimSpace(typ) == "FX" {
			fx += n
		} else { // FD; anything else counts as FILESTREAM, the blocker
			fd += n
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the filegroups of %s: %w", d.Name, err)
	}
	d.FilestreamFiles, d.MemoryOptimizedFiles = fd, fx
	return nil
}

// Permissions is what the login may do.
type Permissions struct {
	Sysadmin      bool   `json:"sysadmin"`
	AgentOperator bool   `json:"agent_operator"`
	Login         string `json:"login"`
	// NoSID: SUSER_SID() is NULL, as for an Entra user who is on a managed instance
	// only through an Entra group; such a user cannot create or run Agent jobs there
	// (T-SQL differences, SQL Server Agent:
	// https://learn.microsoft.com/azure/azure-sql/managed-instance/transact-sql-tsql-differences-sql-server#sql-server-agent).
	NoSID bool `json:"no_sid"`
}

// Permissions reads sysadmin and SQLAgentOperatorRole membership of the current login.
func (c *Conn) Permissions(ctx context.Context) (Permissions, error) {
	var p Permissions
	var sa sql.NullInt64
	var op, noSID int
	if err := c.DB.QueryRowContext(ctx, Query(TagPermissions)).Scan(&sa, &op, &p.Login, &noSID); err != nil {
		return p, fmt.Errorf("read permissions: %w", err)
	}
	p.NoSID = noSID == 1
	p.Sysadmin = sa.Int64 == 1
	p.AgentOperator = op > 0
	return p, nil
}

// MirroringEndpoint is a DATABASE_MIRRORING endpoint.
type MirroringEndpoint struct {
	ID                 int    `json:"id"`
	Name               string `json:"name"`
	State              string `json:"state"` // STARTED, STOPPED, DISABLED
	Port               int    `json:"port"`
	Role               string `json:"role"`
	Auth               string `json:"auth"`       // connection_auth_desc, e.g. CERTIFICATE
	Encryption         string `json:"encryption"` // encryption_algorithm_desc, e.g. AES
	CertificateName    string `json:"certificate_name"`
	CertificateSubject string `json:"certificate_subject"`
	// CertificateExpiry is the endpoint certificate's expiry_date (sys.certificates),
	// nil when unknown.
	CertificateExpiry *time.Time `json:"certificate_expiry"`
}

// MirroringEndpoints lists the instance's database mirroring endpoints (at most one exists).
func (c *Conn) MirroringEndpoints(ctx context.Context) ([]MirroringEndpoint, error) {
	rows, err := c.DB.QueryContext(ctx, Query(TagEndpoints))
	if err != nil {
		return nil, fmt.Errorf("list database mirroring endpoints: %w", err)
	}
	defer rows.Close()
	var out []MirroringEndpoint
	for rows.Next() {
		var e MirroringEndpoint
		var cn, cs, role, auth, enc sql.NullString
		var exp sql.NullTime
		if err := rows.Scan(&e.ID, &e.Name, &e.State, &e.Port, &role, &auth, &enc, &cn, &cs, &exp); err != nil {
			return nil, fmt.Errorf("list database mirroring endpoints: %w", err)
		}
		e.Role, e.Auth, e.Encryption, e.CertificateName, e.CertificateSubject = role.String, auth.String, enc.String, cn.String, cs.String
		if exp.Valid {
			t := exp.Time
			e.CertificateExpiry = &t
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list database mirroring endpoints: %w", err)
	}
	return out, nil
}

// HasAddIssuer reports whether sp_certificate_add_issuer exists (the link's service update).
func (c *Conn) HasAddIssuer(ctx context.Context) (bool, error) {
	var n int
	if err := c.DB.QueryRowContext(ctx, Query(TagAddIssuer)).Scan(&n); err != nil {
		return false, fmt.Errorf("look for sp_certificate_add_issuer: %w", err)
	}
	return n > 0, nil
}

// LocalAddress returns the IP address on which the instance received this connection.
func (c *Conn) LocalAddress(ctx context.Context) (string, error) {
	var s sql.NullString
	if err := c.DB.QueryRowContext(ctx, Query(TagLocalAddress)).Scan(&s); err != nil {
		return "", fmt.Errorf("read the server's local address: %w", err)
	}
	return s.String, nil
}

// MIParams are the managed instance's HADR parameters needed for the network test.
type MIParams struct {
	FQDN     string `json:"fqdn"` // DnsRecordName
	Node     string `json:"node"` // <node>.<cluster>
	HadrPort int    `json:"hadr_port"`
}

// MIParams discovers the managed instance's FQDN, current node and HADR port. They can
// change after any failover, so they are read anew for every run.
func (c *Conn) MIParams(ctx context.Context) (MIParams, error) {
	var p MIParams
	rows, err := c.DB.QueryContext(ctx, Query(TagMIParams))
	if err != nil {
		return p, fmt.Errorf("read managed instance HADR parameters: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return p, fmt.Errorf("read managed instance HADR parameters: %w", err)
		}
		switch name {
		case "DnsRecordName":
			p.FQDN = value
		case "Node":
			p.Node = value
		case "HadrPort":
			if _, err := fmt.Sscanf(value, "%d", &p.HadrPort); err != nil {
				return p, fmt.Errorf("managed instance HadrPort %q is not a number", value)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return p, fmt.Errorf("read managed instance HADR parameters: %w", err)
	}
	if p.FQDN == "" || p.Node == "" || p.HadrPort == 0 {
		return p, fmt.Errorf("managed instance HADR parameters incomplete (DnsRecordName %q, node %q, HadrPort %d): is this a managed instance?", p.FQDN, p.Node, p.HadrPort)
	}
	if err := ValidateHost(p.FQDN); err != nil {
		return p, fmt.Errorf("managed instance DnsRecordName: %w", err)
	}
	if err := ValidateHost(p.Node); err != nil {
		return p, fmt.Errorf("managed instance node: %w", err)
	}
	if err := ValidatePort(p.HadrPort); err != nil {
		return p, fmt.Errorf("managed instance HadrPort: %w", err)
	}
	return p, nil
}
