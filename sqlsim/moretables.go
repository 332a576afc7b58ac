package sqlsim

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"

	"github.com/milink/milink/sqlsim/catalog"
)

// fixedServerRoleIDs are the principal ids of the fixed server roles
// (https://learn.microsoft.com/sql/relational-databases/security/authentication-access/server-level-roles).
var fixedServerRoleIDs = map[string]int{"public": 2, "sysadmin": 3, "securityadmin": 4, "serveradmin": 5, "setupadmin": 6,
	"processadmin": 7, "diskadmin": 8, "dbcreator": 9, "bulkadmin": 10}

// permissionTypes are sys.*_permissions.type codes for the permissions the
// simulator grants (https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-database-permissions-transact-sql).
var permissionTypes = map[string]string{"CONNECT SQL": "COSQ", "VIEW SERVER STATE": "VWSS", "VIEW ANY DATABASE": "VWDB",
	"CONTROL SERVER": "CL", "ALTER ANY LOGIN": "ALLG", "CONNECT": "CO", "EXECUTE": "EX", "SELECT": "SL", "CONTROL": "CL"}

func permType(p string) string {
	if t, ok := permissionTypes[p]; ok {
		return t
	}
	var b strings.Builder
	for _, w := range strings.Fields(p) {
		b.WriteByte(w[0])
	}
	return b.String()
}

var lockModeCodes = map[string]string{"Shared": "S", "Update": "U", "IntentShared": "IS", "IntentExclusive": "IX", "Exclusive": "X"}

// moreTables are security, session, lock and msdb views whose rows come from the
// instance state; columns and permissions are package catalog's.
func moreTables() []*sysTable {
	const learn = "https://learn.microsoft.com/sql/relational-databases/"
	return []*sysTable{
		{schema: "sys", name: "server_role_members", scope: "server", avail: everywhere, cols: "role_principal_id int, member_principal_id int",
			source: learn + "system-catalog-views/sys-server-role-members-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				in := x.s.in
				var out []map[string]any
				roles := make([]string, 0, len(in.serverRoles))
				for r := range in.serverRoles {
					roles = append(roles, r)
				}
				sort.Strings(roles)
				for _, r := range roles {
					for _, m := range in.serverRoles[r] {
						if l := in.loginByNameLocked(m); l != nil {
							out = append(out, map[string]any{"role_principal_id": int64(fixedServerRoleIDs[r]), "member_principal_id": int64(l.id)})
						}
					}
				}
				return out
			}},
		{schema: "sys", name: "server_permissions", scope: "server", avail: everywhere,
			cols:   "class tinyint, class_desc nvarchar(60), major_id int, minor_id int, grantee_principal_id int, grantor_principal_id int, type char(4), permission_name nvarchar(128), state char(1), state_desc nvarchar(60)",
			source: learn + "system-catalog-views/sys-server-permissions-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				in := x.s.in
				var out []map[string]any
				add := func(perm string, l *loginState, state string) {
					desc := map[string]string{"G": "GRANT", "D": "DENY"}[state]
					out = append(out, map[string]any{"class": int64(100), "class_desc": "SERVER", "major_id": int64(0), "minor_id": int64(0),
						"grantee_principal_id": int64(l.id), "grantor_principal_id": int64(1), "type": permType(perm), "permission_name": perm, "state": state, "state_desc": desc})
				}
				for _, l := range in.logins {
					add("CONNECT SQL", l, "G")
					for _, m := range []struct {
						set   map[string]bool
						state string
					}{{in.serverGrant, "G"}, {in.serverDeny, "D"}} {
						keys := make([]string, 0, len(m.set))
						for k := range m.set {
							keys = append(keys, k)
						}
						sort.Strings(keys)
						for _, k := range keys {
							perm, who, _ := strings.Cut(k, "|")
							if m.set[k] && strings.EqualFold(who, l.name) {
								add(perm, l, m.state)
							}
						}
					}
				}
				return out
			}},
		{schema: "sys", name: "database_permissions", scope: "db", avail: everywhere,
			cols:   "class tinyint, class_desc nvarchar(60), major_id int, minor_id int, grantee_principal_id int, grantor_principal_id int, type char(4), permission_name nvarchar(128), state char(1), state_desc nvarchar(60)",
			source: learn + "system-catalog-views/sys-database-permissions-transact-sql",
			rows: func(x *execCtx, d *dbState) []map[string]any {
				var out []map[string]any
				for _, u := range d.users {
					if u.typ == "S" && u.id >= 1 && u.id != 2 {
						out = append(out, map[string]any{"class": int64(0), "class_desc": "DATABASE", "major_id": int64(0), "minor_id": int64(0),
							"grantee_principal_id": int64(u.id), "grantor_principal_id": int64(1), "type": "CO", "permission_name": "CONNECT", "state": "G", "state_desc": "GRANT"})
					}
				}
				keys := make([]string, 0, len(d.grants))
				for k := range d.grants {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					parts := strings.SplitN(k, "|", 3)
					if len(parts) != 3 {
						continue
					}
					u := d.userByNameLocked(parts[2])
					if u == nil {
						continue
					}
					state, desc := "G", "GRANT"
					if !d.grants[k] {
						state, desc = "D", "DENY"
					}
					class, classDesc, major := int64(0), "DATABASE", int64(0)
					if parts[1] != "" {
						class, classDesc = 1, "OBJECT_OR_COLUMN"
						if p := d.procs[parts[1]]; p != nil {
							major = int64(p.id)
						} else if o, ok := x.s.in.pers.Lookup(strings.ToLower(d.name), "", parts[1]); ok {
							major = int64(o.ObjectID())
						}
					}
					out = append(out, map[string]any{"class": class, "class_desc": classDesc, "major_id": major, "minor_id": int64(0),
						"grantee_principal_id": int64(u.id), "grantor_principal_id": int64(1), "type": permType(parts[0]), "permission_name": parts[0], "state": state, "state_desc": desc})
				}
				return out
			}},
		{schema: "sys", name: "schemas", scope: "db", avail: everywhere, cols: "name sysname, schema_id int, principal_id int",
			source: learn + "system-catalog-views/schemas-catalog-views-sys-schemas",
			rows: func(x *execCtx, d *dbState) []map[string]any {
				out := []map[string]any{{"name": "dbo", "schema_id": int64(1), "principal_id": int64(1)}, {"name": "guest", "schema_id": int64(2), "principal_id": int64(2)},
					{"name": "INFORMATION_SCHEMA", "schema_id": int64(3), "principal_id": int64(3)}, {"name": "sys", "schema_id": int64(4), "principal_id": int64(4)}}
				for _, u := range d.users {
					if u.typ == "R" && u.id >= 16384 {
						out = append(out, map[string]any{"name": u.name, "schema_id": int64(u.id), "principal_id": int64(u.id)})
					}
				}
				return out
			}},
		{schema: "sys", name: "sql_modules", scope: "db", avail: everywhere, cols: "object_id int, definition nvarchar(max)",
			source: learn + "system-catalog-views/sys-sql-modules-transact-sql",
			rows: func(x *execCtx, d *dbState) []map[string]any {
				var out []map[string]any
				for _, p := range d.procs {
					out = append(out, map[string]any{"object_id": int64(p.id), "definition": p.source, "uses_ansi_nulls": int64(1), "uses_quoted_identifier": int64(1),
						"is_schema_bound": int64(0), "uses_database_collation": int64(0), "is_recompiled": int64(0), "null_on_null_input": int64(0),
						"uses_native_compilation": int64(0), "inline_type": int64(0), "is_inlineable": int64(0)})
				}
				return out
			}},
		{schema: "sys", name: "filegroups", scope: "db", avail: everywhere,
			cols:   "name sysname, data_space_id int, type char(2), type_desc nvarchar(60), is_default bit, is_system bit",
			source: learn + "system-catalog-views/sys-filegroups-transact-sql",
			rows: func(x *execCtx, d *dbState) []map[string]any {
				out := []map[string]any{{"name": "PRIMARY", "data_space_id": int64(1), "type": "FG", "type_desc": "ROWS_FILEGROUP", "is_default": int64(1),
					"is_system": int64(0), "filegroup_guid": nil, "log_filegroup_id": nil, "is_read_only": int64(0), "is_autogrow_all_files": int64(0)}}
				for _, g := range d.filegroups {
					out = append(out, map[string]any{"name": g.name, "data_space_id": int64(g.id), "type": g.typ, "type_desc": g.typeDesc(),
						"is_default": int64(0), "is_system": int64(0), "filegroup_guid": d.guid, "is_read_only": int64(0), "is_autogrow_all_files": int64(0)})
				}
				return out
			}},
		{schema: "sys", name: "dm_exec_sessions", scope: "server", avail: everywhere, cols: "session_id smallint, login_time datetime, login_name nvarchar(128)",
			source: learn + "system-dynamic-management-views/sys-dm-exec-sessions-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				in := x.s.in
				// Without VIEW SERVER STATE a login sees only its own session (the page's Permissions).
				all := in.hasServerPermLocked(x.s.loginName, catalog.PermViewServerState)
				var out []map[string]any
				for _, s := range in.sortedSessionsLocked() {
					if !all && s != x.s {
						continue
					}
					var sid any
					if l := in.loginByNameLocked(s.loginName); l != nil {
						sid = l.sid
					}
					dbID := int64(1)
					if d := in.dbByNameLocked(s.db); d != nil {
						dbID = int64(d.id)
					}
					out = append(out, map[string]any{"session_id": int64(s.spid), "login_time": s.loginTime, "host_name": s.hostName, "program_name": s.appName,
						"client_interface_name": "TDS", "security_id": sid, "login_name": s.loginName, "status": "sleeping", "is_user_process": int64(1),
						"language": "us_english", "date_format": "mdy", "date_first": int64(7), "transaction_isolation_level": int64(2), "lock_timeout": int64(-1),
						"row_count": s.rowcount, "prev_error": int64(s.lastError), "original_security_id": sid, "original_login_name": s.loginName,
						"database_id": dbID, "authenticating_database_id": int64(1), "open_transaction_count": int64(s.tranCount)})
				}
				return out
			}},
		{schema: "sys", name: "dm_exec_connections", scope: "server", avail: everywhere, perm: catalog.PermViewServerState,
			cols:   "session_id int, connect_time datetime, net_transport nvarchar(40), client_net_address varchar(48), local_net_address varchar(48), local_tcp_port int",
			source: learn + "system-dynamic-management-views/sys-dm-exec-connections-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				in := x.s.in
				enc := "TRUE"
				if in.opts.NoEncryption {
					enc = "FALSE"
				}
				var out []map[string]any
				for _, s := range in.sortedSessionsLocked() {
					out = append(out, map[string]any{"session_id": int64(s.spid), "most_recent_session_id": int64(s.spid), "connect_time": s.loginTime,
						"net_transport": "TCP", "protocol_type": "TSQL", "encrypt_option": enc, "auth_scheme": "SQL", "net_packet_size": int64(4096),
						"client_net_address": s.remote, "local_net_address": in.opts.IP, "local_tcp_port": int64(1433)})
				}
				return out
			}},
		{schema: "sys", name: "dm_tran_locks", scope: "server", avail: everywhere, perm: catalog.PermViewServerState,
			cols:   "resource_type nvarchar(60), resource_database_id int, resource_description nvarchar(256), request_mode nvarchar(60), request_status nvarchar(60), request_session_id int, request_owner_type nvarchar(60)",
			source: learn + "system-dynamic-management-views/sys-dm-tran-locks-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				in := x.s.in
				names := make([]string, 0, len(in.locks))
				for n := range in.locks {
					names = append(names, n)
				}
				sort.Strings(names)
				var out []map[string]any
				for _, n := range names {
					l := in.locks[n]
					h32 := fnv.New32a()
					_, _ = h32.Write([]byte(n))
					for _, s := range in.sortedSessionsLocked() {
						h := l.holders[s]
						if h == nil {
							continue
						}
						owner := "SESSION"
						if h.txn {
							owner = "TRANSACTION"
						}
						// An application lock's resource_description is "<principal id>:[<resource>]:(<hash>)".
						out = append(out, map[string]any{"resource_type": "APPLICATION", "resource_subtype": "", "resource_database_id": int64(h.dbID),
							"resource_description": fmt.Sprintf("0:[%s]:(%08x)", truncate(n, 32), h32.Sum32()), "request_mode": lockModeCodes[h.mode],
							"request_type": "LOCK", "request_status": "GRANT", "request_reference_count": int64(h.count), "request_session_id": int64(s.spid),
							"request_owner_type": owner})
					}
				}
				return out
			}},
		{schema: "dbo", name: "sysjobservers", scope: "msdb", avail: everywhere,
			cols:   "job_id uniqueidentifier, server_id int, last_run_outcome tinyint, last_outcome_message nvarchar(4000), last_run_date int, last_run_time int, last_run_duration int",
			source: learn + "system-tables/dbo-sysjobservers-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				a := x.s.in.agent
				var out []map[string]any
				for _, j := range a.jobs {
					if len(j.servers) == 0 {
						continue
					}
					m := map[string]any{"job_id": j.id, "server_id": int64(0), "last_run_outcome": int64(5), "last_outcome_message": nil,
						"last_run_date": int64(0), "last_run_time": int64(0), "last_run_duration": int64(0)}
					for _, h := range a.history {
						if h.jobID == j.id && h.stepID == 0 {
							m["last_run_outcome"], m["last_outcome_message"] = int64(h.runStatus), h.message
							m["last_run_date"], m["last_run_time"], m["last_run_duration"] = int64(h.runDate), int64(h.runTime), int64(h.runDuration)
						}
					}
					out = append(out, m)
				}
				return out
			}},
		{schema: "dbo", name: "syscategories", scope: "msdb", avail: everywhere, cols: "category_id int, category_class int, category_type tinyint, name sysname",
			source: learn + "system-tables/dbo-syscategories-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				var out []map[string]any
				for _, c := range x.s.in.agent.categories {
					out = append(out, map[string]any{"category_id": int64(c.id), "category_class": int64(c.class), "category_type": int64(c.typ), "name": c.name})
				}
				return out
			}},
		{schema: "dbo", name: "backupmediafamily", scope: "msdb", avail: everywhere,
			cols:   "media_set_id int, family_sequence_number tinyint, physical_device_name nvarchar(260), device_type tinyint",
			source: learn + "system-tables/backupmediafamily-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				var out []map[string]any
				for _, b := range x.s.in.backups {
					dev := int64(2) // disk
					if strings.HasPrefix(strings.ToLower(b.device), "https://") {
						dev = 9 // URL
					}
					out = append(out, map[string]any{"media_set_id": int64(b.id), "family_sequence_number": int64(1), "media_family_id": b.dbGUID, "media_count": int64(1),
						"physical_device_name": b.device, "device_type": dev, "physical_block_size": int64(512), "mirror": int64(0)})
				}
				return out
			}},
	}
}

// jobCategory is one row of msdb.dbo.syscategories.
type jobCategory struct {
	id, class, typ int
	name           string
}

// builtinJobCategories are msdb's built-in job, alert and operator categories (class 1
// job, 2 alert, 3 operator; type 1 local, 2 multiserver, 3 none), as msdb's installation
// script creates them (https://learn.microsoft.com/sql/relational-databases/system-tables/dbo-syscategories-transact-sql).
var builtinJobCategories = []jobCategory{
	{0, 1, 1, "[Uncategorized (Local)]"}, {2, 1, 2, "[Uncategorized (Multi-Server)]"}, {3, 1, 1, "Database Maintenance"},
	{4, 1, 1, "Full-Text"}, {5, 1, 1, "Jobs from MSX"}, {6, 1, 1, "Web Assistant"}, {7, 1, 1, "Data Collector"},
	{8, 1, 1, "Log Shipping"}, {98, 2, 3, "[Uncategorized]"}, {99, 3, 3, "[Uncategorized]"},
}

// categoryLocked finds a category of class by name (case-insensitive, as msdb's
// default collation compares).
func (a *agent) categoryLocked(class int, name string) *jobCategory {
	for i := range a.categories {
		if c := &a.categories[i]; c.class == class && strings.EqualFold(c.name, name) {
			return c
		}
	}
	return nil
}

// sortedSessionsLocked lists the client sessions by session id.
func (in *Instance) sortedSessionsLocked() []*session {
	out := make([]*session, 0, len(in.sessions))
	for s := range in.sessions {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].spid < out[j].spid })
	return out
}
