package sqlsim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/milink/milink/sqlsim/catalog"
	"github.com/milink/milink/sqlsim/tds"
	"github.com/milink/milink/sqlsim/tsql"
)

// sysTable is a system view, DMV or msdb table whose rows the simulator computes
// from instance state. It is the local fallback for existence, columns and
// permission while package catalog lacks the object; package catalog wins when it
// has an entry for the object.
type sysTable struct {
	schema, name string
	scope        string // "server" (same rows from every database), "db" (per database), "msdb" (only in msdb)
	cols         string // "name type, name type, …"
	avail        catalog.Availability
	perm         string // server permission needed ("" for none)
	permFrom     int    // major from which perm applies; permBefore before it
	permBefore   string
	source       string
	rows         func(x *execCtx, d *dbState) []map[string]any // called with the instance locked
}

var (
	everywhere = catalog.Availability{MinMajor: 13, Windows: true, Linux: true, MI: true}
	boxOnly    = catalog.Availability{MinMajor: 13, Windows: true, Linux: true}
	miOnly     = catalog.Availability{MinMajor: 13, MI: true}
)

var (
	sysTablesOnce sync.Once
	sysTables     map[string]*sysTable
)

func sysTableDefs() map[string]*sysTable {
	sysTablesOnce.Do(func() {
		sysTables = map[string]*sysTable{}
		for _, t := range append(append(append(systemTables(), msdbTables()...), moreTables()...), resourceStatsTables()...) {
			sysTables[t.schema+"."+t.name] = t
		}
	})
	return sysTables
}

// columns parses the cols spec.
func (t *sysTable) columns() []catalog.Column {
	var out []catalog.Column
	for _, c := range strings.Split(t.cols, ",") {
		f := strings.Fields(strings.TrimSpace(c))
		if len(f) == 2 {
			out = append(out, catalog.Column{Name: f[0], Type: f[1], Nullable: true})
		}
	}
	return out
}

var (
	catalogOnce  sync.Once
	catalogNames map[string]bool // schema.name of every object package catalog knows
)

func catalogKnows(schema, name string) bool {
	catalogOnce.Do(func() {
		catalogNames = map[string]bool{}
		for _, o := range catalog.Objects() {
			catalogNames[strings.ToLower(o.Schema+"."+o.Name)] = true
		}
	})
	return catalogNames[strings.ToLower(schema+"."+name)]
}

// scanObject resolves a table name and returns its rows: Msg 208 when the
// personality has no such object, Msg 300/297 without the permission it needs.
func (x *execCtx) scanObject(t *tsql.TableName) (*relation, error) { return x.openObject(t, true) }

// openObject resolves t and checks the permission it needs; with rows false it only
// binds the name (the compile-time check of a statement).
func (x *execCtx) openObject(t *tsql.TableName, rows bool) (*relation, error) {
	s := x.s
	in := s.in
	written := t.Name.String()
	invalid := func() error { return abortErr(208, 16, fmt.Sprintf("Invalid object name '%s'.", written)) }
	if t.Name.Server != "" || t.Args != nil {
		return nil, invalid()
	}
	dbName := t.Name.Database
	if dbName == "" {
		dbName = s.db
	}
	schema := strings.ToLower(t.Name.Schema)
	if schema == "" {
		schema = "dbo"
	}
	name := strings.ToLower(t.Name.Object)
	in.mu.Lock()
	defer in.mu.Unlock()
	d := in.dbByNameLocked(dbName)
	if d == nil {
		return nil, invalid()
	}
	// A login that is neither sysadmin nor mapped to a user of a user database (whose
	// guest user is disabled by default) cannot open it: Msg 916
	// (https://learn.microsoft.com/sql/relational-databases/errors-events/mssqlserver-916-database-engine-error).
	if d.id > 4 && !in.isSysadminLocked(s.loginName) && d.userForLoginLocked(s.loginName) == nil {
		return nil, sqlErr(916, 14, fmt.Sprintf("The server principal \"%s\" is not able to access the database \"%s\" under the current security context.", s.loginName, d.name))
	}
	def := sysTableDefs()[schema+"."+name]
	if def != nil && def.scope == "msdb" && !strings.EqualFold(d.name, "msdb") {
		def = nil
	}
	var cols []catalog.Column
	perm := ""
	p := in.pers
	if catalogKnows(schema, name) {
		obj, ok := p.Lookup(strings.ToLower(d.name), schema, name)
		if !ok || (obj.Kind != catalog.View && obj.Kind != catalog.DMV && obj.Kind != catalog.Table && obj.Kind != "") {
			return nil, invalid()
		}
		cols = obj.ColumnsOn(p)
		perm = obj.RequiredPermission(p)
	} else {
		if def == nil || !def.avail.Has(p) {
			return nil, invalid()
		}
		cols = def.columns()
		perm = def.perm
		if def.permFrom != 0 && p.Major < def.permFrom && !p.MI {
			perm = def.permBefore
		}
	}
	if perm != "" && !x.objectPermLocked(perm, d, name) {
		if strings.HasPrefix(perm, "VIEW SERVER") || strings.HasPrefix(perm, "VIEW DATABASE") {
			return nil, &execError{msgs: []*tds.Error{
				{Number: 300, State: 1, Class: 14, Message: fmt.Sprintf("%s permission was denied on object 'server', database 'master'.", perm)},
				{Number: 297, State: 1, Class: 16, Message: "The user does not have permission to perform this action."},
			}}
		}
		return nil, sqlErr(229, 14, fmt.Sprintf("The SELECT permission was denied on the object '%s', database '%s', schema '%s'.", name, d.name, schema))
	}
	alias := t.Alias
	if alias == "" {
		alias = t.Name.Object
	}
	rel := &relation{}
	for _, c := range cols {
		typ, size := colTypeForSQL(parseTypeName(c.Type))
		rel.cols = append(rel.cols, relCol{table: alias, name: c.Name, typ: typ, size: size})
	}
	if rows && def != nil && def.rows != nil {
		for _, m := range def.rows(x, d) {
			row := make([]any, len(cols))
			for i, c := range cols {
				row[i] = m[strings.ToLower(c.Name)]
			}
			rel.rows = append(rel.rows, row)
		}
	}
	return rel, nil
}

// ---- row helpers ----

func bit(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func (in *Instance) dataPath(file string) string {
	if in.pers.Platform == catalog.Linux {
		return "/var/opt/mssql/data/" + file
	}
	return fmt.Sprintf(`C:\Program Files\Microsoft SQL Server\MSSQL%d.MSSQLSERVER\MSSQL\DATA\%s`, in.pers.Major, file)
}

var systemEndpoints = []struct {
	id             int
	name, protocol string
	protocolN      int
	admin          bool
	port           int
}{
	{1, "Dedicated Admin Connection", "TCP", 2, true, 0},
	{2, "TSQL Local Machine", "SHARED_MEMORY", 4, false, 0},
	{3, "TSQL Named Pipes", "NAMED_PIPES", 3, false, 0},
	{4, "TSQL Default TCP", "TCP", 2, false, 0},
	{5, "TSQL Default VIA", "VIA", 5, false, 0},
}

var endpointStates = map[string]int64{"STARTED": 0, "STOPPED": 1, "DISABLED": 2}

func endpointBase(e *endpoint) map[string]any {
	typ, typN := e.typ, int64(4)
	switch typ {
	case "TSQL":
		typN = 2
	case "SERVICE_BROKER":
		typN = 3
	}
	return map[string]any{"name": e.name, "endpoint_id": int64(e.id), "principal_id": int64(1), "protocol": int64(2), "protocol_desc": "TCP",
		"type": typN, "type_desc": typ, "state": endpointStates[e.state], "state_desc": e.state, "is_admin_endpoint": int64(0)}
}

// systemTables defines the system objects sqlsim computes. Each cites the page
// its columns come from.
func systemTables() []*sysTable {
	const learn = "https://learn.microsoft.com/sql/relational-databases/"
	return []*sysTable{
		{schema: "sys", name: "dm_os_host_info", scope: "server", avail: catalog.Availability{MinMajor: 14, Windows: true, Linux: true, MI: true},
			cols:   "host_platform nvarchar(256), host_distribution nvarchar(256), host_release nvarchar(256), host_service_pack_level nvarchar(256), host_sku int, os_language_version int, host_architecture nvarchar(256)",
			source: learn + "system-dynamic-management-views/sys-dm-os-host-info-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				p := x.s.in.pers
				rel := p.HostRelease
				if rel == "" {
					rel = "10.0"
				}
				return []map[string]any{{"host_platform": string(p.Platform), "host_distribution": x.s.in.opts.Distribution, "host_release": rel,
					"host_service_pack_level": "", "host_sku": int64(8), "os_language_version": int64(1033), "host_architecture": "X64"}}
			}},
		{schema: "sys", name: "symmetric_keys", scope: "db", avail: everywhere,
			cols:   "name sysname, principal_id int, symmetric_key_id int, key_length int, key_algorithm char(2), algorithm_desc nvarchar(60), create_date datetime, modify_date datetime, key_guid uniqueidentifier",
			source: learn + "system-catalog-views/sys-symmetric-keys-transact-sql",
			rows: func(x *execCtx, d *dbState) []map[string]any {
				in := x.s.in
				if !strings.EqualFold(d.name, "master") {
					return nil
				}
				out := []map[string]any{{"name": "##MS_ServiceMasterKey##", "principal_id": int64(1), "symmetric_key_id": int64(102), "key_length": int64(256),
					"key_algorithm": "A3", "algorithm_desc": "AES_256", "create_date": in.started, "modify_date": in.started, "key_guid": in.smkGUID}}
				if in.masterKey {
					out = append(out, map[string]any{"name": "##MS_DatabaseMasterKey##", "principal_id": int64(1), "symmetric_key_id": int64(101), "key_length": int64(256),
						"key_algorithm": "A3", "algorithm_desc": "AES_256", "create_date": in.masterKeyCreated, "modify_date": in.masterKeyCreated, "key_guid": in.dmkGUID})
				}
				return out
			}},
		{schema: "sys", name: "dm_server_services", scope: "server", avail: everywhere, perm: "VIEW SERVER SECURITY STATE", permFrom: 16, permBefore: "VIEW SERVER STATE",
			cols:   "servicename nvarchar(256), startup_type int, startup_type_desc nvarchar(256), status int, status_desc nvarchar(256), process_id int, last_startup_time datetimeoffset, service_account nvarchar(256), filename nvarchar(256), is_clustered nvarchar(1), cluster_nodename nvarchar(256), instant_file_initialization_enabled nvarchar(1)",
			source: learn + "system-dynamic-management-views/sys-dm-server-services-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				in := x.s.in
				out := []map[string]any{{"servicename": "SQL Server (MSSQLSERVER)", "startup_type": int64(2), "startup_type_desc": "Automatic", "status": int64(4),
					"status_desc": "Running", "process_id": int64(4242), "last_startup_time": in.started, "service_account": `NT Service\MSSQLSERVER`,
					"is_clustered": "N", "instant_file_initialization_enabled": "Y"}}
				if in.pers.MI {
					return out // a managed instance does not expose its Agent service here
				}
				st, stN := "Stopped", int64(1)
				if in.agentOn {
					st, stN = "Running", 4
				}
				return append(out, map[string]any{"servicename": "SQL Server Agent (MSSQLSERVER)", "startup_type": int64(2), "startup_type_desc": "Automatic",
					"status": stN, "status_desc": st, "service_account": in.agent.serviceAccount(), "is_clustered": "N", "instant_file_initialization_enabled": "N"})
			}},
		{schema: "sys", name: "configurations", scope: "server", avail: everywhere,
			cols:   "configuration_id int, name nvarchar(35), value sql_variant, minimum sql_variant, maximum sql_variant, value_in_use sql_variant, description nvarchar(255), is_dynamic bit, is_advanced bit",
			source: learn + "system-catalog-views/sys-configurations-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				var out []map[string]any
				for _, c := range x.s.in.configs {
					out = append(out, map[string]any{"configuration_id": int64(c.id), "name": c.name, "value": c.value, "minimum": c.min, "maximum": c.max,
						"value_in_use": c.inUse, "description": c.desc, "is_dynamic": bit(c.dynamic), "is_advanced": bit(c.advanced)})
				}
				return out
			}},
		{schema: "sys", name: "databases", scope: "server", avail: everywhere,
			cols:   "name sysname, database_id int, source_database_id int, owner_sid varbinary(85), create_date datetime, compatibility_level tinyint, collation_name sysname, user_access tinyint, user_access_desc nvarchar(60), is_read_only bit, state tinyint, state_desc nvarchar(60), recovery_model tinyint, recovery_model_desc nvarchar(60), is_encrypted bit, group_database_id uniqueidentifier, replica_id uniqueidentifier",
			source: learn + "system-catalog-views/sys-databases-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				in := x.s.in
				var out []map[string]any
				for _, d := range in.dbs {
					rm := map[string]int64{"FULL": 1, "BULK_LOGGED": 2, "SIMPLE": 3}[d.recovery]
					out = append(out, map[string]any{"name": d.name, "database_id": int64(d.id), "owner_sid": []byte{1}, "create_date": d.created,
						"compatibility_level": int64(in.pers.Major * 10), "collation_name": "SQL_Latin1_General_CP1_CI_AS", "user_access": int64(0),
						"user_access_desc": "MULTI_USER", "is_read_only": int64(0), "state": int64(0), "state_desc": d.state, "recovery_model": rm,
						"recovery_model_desc": d.recovery, "is_encrypted": bit(d.encryptionState == 3)})
				}
				return out
			}},
		{schema: "sys", name: "database_recovery_status", scope: "server", avail: everywhere,
			cols:   "database_id int, database_guid uniqueidentifier, family_guid uniqueidentifier, last_log_backup_lsn numeric(25,0), recovery_fork_guid uniqueidentifier, first_recovery_fork_guid uniqueidentifier, fork_point_lsn numeric(25,0)",
			source: learn + "system-catalog-views/sys-database-recovery-status-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				in := x.s.in
				var out []map[string]any
				for _, d := range in.dbs {
					if !in.seesRecoveryStatusLocked(x.s.loginName, d) {
						continue
					}
					// A managed instance backs its databases up itself (automated
					// backups: full, differential and log), so their log chain holds.
					var lsn any
					if in.pers.MI && d.id > 4 {
						lsn = int64(d.id) * 1000000
					} else if d.nextLogLSN != 0 && d.recovery != "SIMPLE" {
						lsn = d.nextLogLSN
					}
					out = append(out, map[string]any{"database_id": int64(d.id), "database_guid": d.guid, "family_guid": d.guid, "last_log_backup_lsn": lsn,
						"recovery_fork_guid": d.guid, "first_recovery_fork_guid": d.guid})
				}
				return out
			}},
		{schema: "sys", name: "master_files", scope: "server", avail: everywhere,
			cols:   "database_id int, file_id int, file_guid uniqueidentifier, type tinyint, type_desc nvarchar(60), data_space_id int, name sysname, physical_name nvarchar(260), state tinyint, state_desc nvarchar(60), size int, max_size int, growth int",
			source: learn + "system-catalog-views/sys-master-files-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				in := x.s.in
				var out []map[string]any
				for _, d := range in.dbs {
					fid := int64(1)
					add := func(typ int64, desc, name, file string) {
						out = append(out, map[string]any{"database_id": int64(d.id), "file_id": fid, "type": typ, "type_desc": desc, "data_space_id": int64(1),
							"name": name, "physical_name": in.dataPath(file), "state": int64(0), "state_desc": "ONLINE", "size": int64(1024), "max_size": int64(-1), "growth": int64(8192)})
						fid++
					}
					add(0, "ROWS", d.name, d.name+".mdf")
					for i := 0; i < max(d.logFiles, 1); i++ {
						add(1, "LOG", fmt.Sprintf("%s_log%s", d.name, suffix(i)), fmt.Sprintf("%s_log%s.ldf", d.name, suffix(i)))
					}
					for _, f := range d.files {
						out = append(out, map[string]any{"database_id": int64(d.id), "file_id": fid, "type": int64(f.typ), "type_desc": map[int]string{0: "ROWS", 2: "FILESTREAM"}[f.typ],
							"data_space_id": int64(f.dataSpace), "name": f.name, "physical_name": f.physical, "state": int64(0), "state_desc": "ONLINE",
							"size": int64(1024), "max_size": int64(-1), "growth": int64(8192)})
						fid++
					}
				}
				return out
			}},
		{schema: "sys", name: "dm_database_encryption_keys", scope: "server", avail: everywhere, perm: "VIEW SERVER STATE",
			cols:   "database_id int, encryption_state int, create_date datetime, regenerate_date datetime, modify_date datetime, set_date datetime, opened_date datetime, key_algorithm nvarchar(32), key_length int, encryptor_thumbprint varbinary(20), encryptor_type nvarchar(32), percent_complete real",
			source: learn + "system-dynamic-management-views/sys-dm-database-encryption-keys-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				var out []map[string]any
				for _, d := range x.s.in.dbs {
					if d.encryptionState > 0 {
						m := map[string]any{"database_id": int64(d.id), "encryption_state": int64(d.encryptionState), "create_date": d.created,
							"key_algorithm": "AES", "key_length": int64(256), "encryptor_type": "CERTIFICATE", "percent_complete": float64(0)}
						if k := d.dek; k != nil {
							alg, n, _ := strings.Cut(k.algorithm, "_") // AES_256 → AES, 256; TRIPLE_DES_3KEY → TRIPLE, DES_3KEY
							m["key_algorithm"], m["create_date"], m["encryptor_thumbprint"] = alg, k.created, append([]byte(nil), k.thumbprint...)
							if bits, err := strconv.Atoi(n); err == nil {
								m["key_length"] = int64(bits)
							}
							if !k.set.IsZero() {
								m["set_date"] = k.set
							}
						}
						out = append(out, m)
					}
				}
				return out
			}},
		{schema: "sys", name: "endpoints", scope: "server", avail: everywhere,
			cols:   "name sysname, endpoint_id int, principal_id int, protocol tinyint, protocol_desc nvarchar(60), type tinyint, type_desc nvarchar(60), state tinyint, state_desc nvarchar(60), is_admin_endpoint bit",
			source: learn + "system-catalog-views/sys-endpoints-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				var out []map[string]any
				for _, se := range systemEndpoints {
					out = append(out, map[string]any{"name": se.name, "endpoint_id": int64(se.id), "principal_id": int64(1), "protocol": int64(se.protocolN),
						"protocol_desc": se.protocol, "type": int64(2), "type_desc": "TSQL", "state": int64(0), "state_desc": "STARTED", "is_admin_endpoint": bit(se.admin)})
				}
				for _, e := range x.s.in.endpoints {
					out = append(out, endpointBase(e))
				}
				return out
			}},
		{schema: "sys", name: "tcp_endpoints", scope: "server", avail: everywhere,
			cols:   "name sysname, endpoint_id int, principal_id int, protocol tinyint, protocol_desc nvarchar(60), type tinyint, type_desc nvarchar(60), state tinyint, state_desc nvarchar(60), is_admin_endpoint bit, port int, is_dynamic_port bit, ip_address nvarchar(45)",
			source: learn + "system-catalog-views/sys-tcp-endpoints-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				var out []map[string]any
				for _, se := range systemEndpoints {
					if se.protocol == "TCP" {
						out = append(out, map[string]any{"name": se.name, "endpoint_id": int64(se.id), "principal_id": int64(1), "protocol": int64(2), "protocol_desc": "TCP",
							"type": int64(2), "type_desc": "TSQL", "state": int64(0), "state_desc": "STARTED", "is_admin_endpoint": bit(se.admin), "port": int64(0), "is_dynamic_port": int64(1)})
					}
				}
				for _, e := range x.s.in.endpoints {
					m := endpointBase(e)
					m["port"], m["is_dynamic_port"] = int64(e.port), int64(0)
					out = append(out, m)
				}
				return out
			}},
		{schema: "sys", name: "database_mirroring_endpoints", scope: "server", avail: everywhere,
			cols:   "name sysname, endpoint_id int, principal_id int, protocol tinyint, protocol_desc nvarchar(60), type tinyint, type_desc nvarchar(60), state tinyint, state_desc nvarchar(60), is_admin_endpoint bit, role tinyint, role_desc nvarchar(60), is_encryption_enabled bit, connection_auth tinyint, connection_auth_desc nvarchar(60), certificate_id int, encryption_algorithm tinyint, encryption_algorithm_desc nvarchar(60)",
			source: learn + "system-catalog-views/sys-database-mirroring-endpoints-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				var out []map[string]any
				for _, e := range x.s.in.endpoints {
					if e.typ != "DATABASE_MIRRORING" {
						continue
					}
					m := endpointBase(e)
					m["role"] = map[string]int64{"ALL": 3, "PARTNER": 1, "WITNESS": 2}[e.role]
					m["role_desc"] = e.role
					m["is_encryption_enabled"] = bit(e.encryption != "NONE")
					m["connection_auth_desc"] = e.auth
					m["connection_auth"] = map[string]int64{"NTLM": 1, "KERBEROS": 2, "NEGOTIATE": 3, "CERTIFICATE": 4}[e.auth]
					if e.certID != 0 {
						m["certificate_id"] = int64(e.certID)
					}
					m["encryption_algorithm_desc"] = e.encryption
					m["encryption_algorithm"] = map[string]int64{"NONE": 0, "RC4": 1, "AES": 2}[e.encryption]
					out = append(out, m)
				}
				return out
			}},
		{schema: "sys", name: "certificates", scope: "db", avail: everywhere,
			cols:   "name sysname, certificate_id int, principal_id int, pvt_key_encryption_type char(2), pvt_key_encryption_type_desc nvarchar(60), is_active_for_begin_dialog bit, issuer_name nvarchar(442), cert_serial_number nvarchar(64), sid varbinary(85), string_sid nvarchar(128), subject nvarchar(4000), expiry_date datetime, start_date datetime, thumbprint varbinary(32), attested_by nvarchar(260), pvt_key_last_backup_date datetime",
			source: learn + "system-catalog-views/sys-certificates-transact-sql",
			rows: func(x *execCtx, d *dbState) []map[string]any {
				if !strings.EqualFold(d.name, "master") {
					return nil
				}
				var out []map[string]any
				for _, c := range x.s.in.certs {
					enc, encDesc := "MK", "ENCRYPTED_BY_MASTER_KEY"
					if c.byPassword {
						enc, encDesc = "PW", "ENCRYPTED_BY_PASSWORD"
					}
					out = append(out, map[string]any{"name": c.name, "certificate_id": int64(c.id), "principal_id": int64(1), "pvt_key_encryption_type": enc,
						"pvt_key_encryption_type_desc": encDesc, "is_active_for_begin_dialog": int64(1), "issuer_name": c.subject,
						"cert_serial_number": fmt.Sprintf("%x", c.serial[:8]), "subject": c.subject, "expiry_date": c.expiry, "start_date": c.start,
						"thumbprint": append([]byte(nil), c.thumbprint[:]...)})
				}
				return out
			}},
		{schema: "sys", name: "objects", scope: "db", avail: everywhere,
			cols:   "name sysname, object_id int, principal_id int, schema_id int, parent_object_id int, type char(2), type_desc nvarchar(60), create_date datetime, modify_date datetime, is_ms_shipped bit",
			source: learn + "system-catalog-views/sys-objects-transact-sql",
			rows:   func(x *execCtx, d *dbState) []map[string]any { return procRows(d, false) }},
		{schema: "sys", name: "procedures", scope: "db", avail: everywhere,
			cols:   "name sysname, object_id int, principal_id int, schema_id int, parent_object_id int, type char(2), type_desc nvarchar(60), create_date datetime, modify_date datetime, is_ms_shipped bit",
			source: learn + "system-catalog-views/sys-procedures-transact-sql",
			rows:   func(x *execCtx, d *dbState) []map[string]any { return procRows(d, false) }},
		{schema: "sys", name: "all_objects", scope: "db", avail: everywhere,
			cols:   "name sysname, object_id int, principal_id int, schema_id int, parent_object_id int, type char(2), type_desc nvarchar(60), create_date datetime, modify_date datetime, is_ms_shipped bit",
			source: learn + "system-catalog-views/sys-all-objects-transact-sql",
			rows: func(x *execCtx, d *dbState) []map[string]any {
				in := x.s.in
				out := procRows(d, true)
				// The system objects are the personality's (package catalog); a database
				// sees the objects of every database plus its own.
				for _, o := range in.pers.Objects() {
					if o.Kind == catalog.Function || (o.Database != "" && !strings.EqualFold(o.Database, d.name)) {
						continue
					}
					if strings.EqualFold(o.Name, "sp_certificate_add_issuer") && !in.opts.AddIssuerProc {
						continue
					}
					schemaID := int64(4)
					if strings.EqualFold(o.Schema, "dbo") {
						schemaID = 1
					}
					out = append(out, map[string]any{"name": o.Name, "object_id": int64(o.ObjectID()), "schema_id": schemaID, "parent_object_id": int64(0),
						"type": o.TypeCode(), "type_desc": o.TypeDesc(), "create_date": in.started, "modify_date": in.started, "is_ms_shipped": int64(1)})
				}
				return out
			}},
		{schema: "sys", name: "server_principals", scope: "server", avail: everywhere,
			cols:   "name sysname, principal_id int, sid varbinary(85), type char(1), type_desc nvarchar(60), is_disabled int, create_date datetime, modify_date datetime, default_database_name sysname",
			source: learn + "system-catalog-views/sys-server-principals-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				var out []map[string]any
				roles := make([]string, 0, len(fixedServerRoleIDs))
				for r := range fixedServerRoleIDs {
					roles = append(roles, r)
				}
				sort.Slice(roles, func(i, j int) bool { return fixedServerRoleIDs[roles[i]] < fixedServerRoleIDs[roles[j]] })
				for _, r := range roles {
					out = append(out, map[string]any{"name": r, "principal_id": int64(fixedServerRoleIDs[r]), "sid": []byte{byte(fixedServerRoleIDs[r])}, "type": "R",
						"type_desc": "SERVER_ROLE", "is_disabled": int64(0), "create_date": x.s.in.started, "modify_date": x.s.in.started})
				}
				for _, l := range x.s.in.logins {
					typ, desc := "S", "SQL_LOGIN"
					if l.external {
						typ, desc = "E", "EXTERNAL_LOGIN"
					} else if l.windows {
						typ, desc = "U", "WINDOWS_LOGIN"
					}
					out = append(out, map[string]any{"name": l.name, "principal_id": int64(l.id), "sid": l.sid, "type": typ, "type_desc": desc, "is_disabled": int64(0),
						"create_date": l.created, "modify_date": l.created, "default_database_name": "master"})
				}
				return out
			}},
		{schema: "sys", name: "database_principals", scope: "db", avail: everywhere,
			cols:   "name sysname, principal_id int, type char(1), type_desc nvarchar(60), default_schema_name sysname, create_date datetime, modify_date datetime, owning_principal_id int, sid varbinary(85), is_fixed_role bit",
			source: learn + "system-catalog-views/sys-database-principals-transact-sql",
			rows: func(x *execCtx, d *dbState) []map[string]any {
				var out []map[string]any
				for _, u := range d.users {
					desc := "SQL_USER"
					var schema any = "dbo"
					if u.typ == "R" {
						desc, schema = "DATABASE_ROLE", nil
					}
					out = append(out, map[string]any{"name": u.name, "principal_id": int64(u.id), "type": u.typ, "type_desc": desc, "default_schema_name": schema,
						"create_date": d.created, "modify_date": d.created, "sid": u.sid, "is_fixed_role": int64(0)})
				}
				return out
			}},
		{schema: "sys", name: "database_role_members", scope: "db", avail: everywhere,
			cols:   "role_principal_id int, member_principal_id int",
			source: learn + "system-catalog-views/sys-database-role-members-transact-sql",
			rows: func(x *execCtx, d *dbState) []map[string]any {
				var out []map[string]any
				for _, m := range d.roleMembers {
					out = append(out, map[string]any{"role_principal_id": int64(m[0]), "member_principal_id": int64(m[1])})
				}
				return out
			}},
		{schema: "sys", name: "dm_hadr_fabric_config_parameters", scope: "server", avail: miOnly,
			cols:   "section_name nvarchar(256), parameter_name nvarchar(256), value nvarchar(max), is_overridden bit",
			source: "https://learn.microsoft.com/azure/azure-sql/managed-instance/managed-instance-link-preparation (the MI parameter query)",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				o := x.s.in.opts
				return []map[string]any{
					{"section_name": "SQL", "parameter_name": "DnsRecordName", "value": o.FQDN, "is_overridden": int64(0)},
					{"section_name": "SQL", "parameter_name": "HadrPort", "value": fmt.Sprint(o.HadrPort), "is_overridden": int64(0)},
					{"section_name": "SQL", "parameter_name": "ClusterName", "value": o.ClusterName, "is_overridden": int64(0)},
					{"section_name": "SQL", "parameter_name": "InstanceName", "value": x.s.in.appName(), "is_overridden": int64(0)},
				}
			}},
		{schema: "sys", name: "dm_hadr_fabric_partitions", scope: "server", avail: miOnly,
			cols:   "partition_id uniqueidentifier, service_name nvarchar(max), service_type nvarchar(max), partition_kind nvarchar(max)",
			source: "https://learn.microsoft.com/azure/azure-sql/managed-instance/managed-instance-link-preparation (the MI parameter query)",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				in := x.s.in
				return []map[string]any{
					{"partition_id": in.partitionID, "service_name": "fabric:/Worker.CL/SQL.ManagedServer/" + in.appName(), "service_type": "SQL.ManagedServer", "partition_kind": "Singleton"},
					{"partition_id": in.otherPartID, "service_name": "fabric:/Worker.CL/SQL.LogicalServer/" + in.appName(), "service_type": "SQL.LogicalServer", "partition_kind": "Singleton"},
				}
			}},
		{schema: "sys", name: "dm_hadr_fabric_replicas", scope: "server", avail: miOnly,
			cols:   "partition_id uniqueidentifier, replica_id bigint, replica_role int, replica_status int, node_name nvarchar(max), replica_address nvarchar(max)",
			source: "https://learn.microsoft.com/azure/azure-sql/managed-instance/managed-instance-link-preparation (the MI parameter query)",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				in := x.s.in
				o := in.opts
				return []map[string]any{
					{"partition_id": in.partitionID, "replica_id": int64(1), "replica_role": int64(2), "replica_status": int64(3), "node_name": "_" + o.NodeName, "replica_address": o.NodeName + `\` + in.appName()},
					{"partition_id": in.partitionID, "replica_id": int64(2), "replica_role": int64(3), "replica_status": int64(3), "node_name": "_DB999", "replica_address": `DB999\` + in.appName()},
				}
			}},
		{schema: "sys", name: "dm_hadr_fabric_nodes", scope: "server", avail: miOnly,
			cols:   "node_name nvarchar(max), node_id nvarchar(max), ip_address_or_fqdn nvarchar(max), node_status int",
			source: "https://learn.microsoft.com/azure/azure-sql/managed-instance/managed-instance-link-preparation (the MI parameter query)",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				o := x.s.in.opts
				return []map[string]any{
					{"node_name": "_" + o.NodeName, "node_id": "1", "ip_address_or_fqdn": nextIP(o.IP), "node_status": int64(1)},
					{"node_name": "_DB999", "node_id": "2", "ip_address_or_fqdn": "10.0.0.250", "node_status": int64(1)},
				}
			}},
	}
}

func suffix(i int) string {
	if i == 0 {
		return ""
	}
	return fmt.Sprint(i + 1)
}

// procRows lists a database's user procedures as sys.objects rows.
func procRows(d *dbState, _ bool) []map[string]any {
	var out []map[string]any
	for _, p := range d.procs {
		out = append(out, map[string]any{"name": p.name, "object_id": int64(p.id), "schema_id": int64(1), "parent_object_id": int64(0), "type": "P ",
			"type_desc": "SQL_STORED_PROCEDURE", "create_date": p.created, "modify_date": p.modified, "is_ms_shipped": int64(0)})
	}
	return out
}

// appName is the managed instance's application name in Service Fabric (the last part
// of the ManagedServer service_name, also the InstanceName parameter).
func (in *Instance) appName() string {
	return fmt.Sprintf("%x", in.partitionID[:6])
}

// objectID is OBJECT_ID(name): user procedures of the database, NULL otherwise.
func (x *execCtx) objectID(name string) any {
	stmts, err := tsql.Parse("EXEC " + name)
	if err != nil || len(stmts) != 1 {
		return nil
	}
	n := stmts[0].(*tsql.Exec).Proc
	in := x.s.in
	in.mu.Lock()
	defer in.mu.Unlock()
	db := n.Database
	if db == "" {
		db = x.s.db
	}
	if d := in.dbByNameLocked(db); d != nil {
		if p := d.procs[strings.ToLower(n.Object)]; p != nil {
			return int64(p.id)
		}
	}
	return nil
}

func (x *execCtx) objectName(id int) any {
	in := x.s.in
	in.mu.Lock()
	defer in.mu.Unlock()
	if d := in.dbByNameLocked(x.s.db); d != nil {
		for _, p := range d.procs {
			if p.id == id {
				return p.name
			}
		}
	}
	return nil
}

var _ = time.Now

// agentRoles are msdb's SQL Server Agent roles, each including the ones before it
// (https://learn.microsoft.com/sql/ssms/agent/sql-server-agent-fixed-database-roles).
var agentRoles = []string{"SQLAgentUserRole", "SQLAgentReaderRole", "SQLAgentOperatorRole"}

// objectPermLocked reports whether the session's login holds perm (a catalog
// Permission value) for object name in database d: sysadmin holds everything; server
// permissions as granted; an msdb Agent role by membership of it or a role that
// includes it; SELECT and EXECUTE as granted on the object to the login's user (SELECT
// also through db_datareader or db_owner).
func (x *execCtx) objectPermLocked(perm string, d *dbState, name string) bool {
	in := x.s.in
	login := x.s.loginName
	if in.isSysadminLocked(login) {
		return true
	}
	user := "guest"
	if u := d.userForLoginLocked(login); u != nil {
		user = u.name
	}
	switch perm {
	case catalog.PermSysadmin:
		return false
	case catalog.PermSelect, catalog.PermExecute:
		if perm == catalog.PermSelect && (d.isRoleMemberLocked("db_datareader", login) || d.isRoleMemberLocked("db_owner", login)) {
			return true
		}
		return d.grants[perm+"|"+strings.ToLower(name)+"|"+strings.ToLower(user)]
	}
	for i, r := range agentRoles {
		if strings.EqualFold(perm, r) {
			msdb := in.dbByNameLocked("msdb")
			for _, held := range agentRoles[i:] {
				if msdb.isRoleMemberLocked(held, login) {
					return true
				}
			}
			return false
		}
	}
	return in.hasServerPermLocked(login, perm)
}

// seesRecoveryStatusLocked reports whether login sees d's row of
// sys.database_recovery_status: "To see the row for a database other than master or
// tempdb, one of the following must apply: Be the owner of the database. Have ALTER
// ANY DATABASE or VIEW ANY DATABASE server-level permissions. Have CREATE DATABASE
// permission in the master database"
// (https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-database-recovery-status-transact-sql).
// public holds VIEW ANY DATABASE unless it is denied to the login (ownership is not
// modelled).
func (in *Instance) seesRecoveryStatusLocked(login string, d *dbState) bool {
	switch {
	case strings.EqualFold(d.name, "master") || strings.EqualFold(d.name, "tempdb"):
		return true
	case in.hasServerPermLocked(login, "ALTER ANY DATABASE") || in.hasServerPermLocked(login, "VIEW ANY DATABASE"):
		return true
	case !in.serverDeny["VIEW ANY DATABASE|"+strings.ToLower(login)]:
		return true // granted to public
	}
	if m := in.dbByNameLocked("master"); m != nil {
		if u := m.userForLoginLocked(login); u != nil && m.grants["CREATE DATABASE||"+strings.ToLower(u.name)] {
			return true
		}
	}
	return false
}
