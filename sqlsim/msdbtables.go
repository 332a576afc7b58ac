package sqlsim

import (
	"strings"
	"time"

	"github.com/milink/milink/sqlsim/catalog"
)

// msdbTables are SQL Server Agent's msdb tables and backup history, computed from
// the simulated Agent (https://learn.microsoft.com/sql/relational-databases/system-tables/).
func msdbTables() []*sysTable {
	const src = "https://learn.microsoft.com/sql/relational-databases/system-tables/"
	agentAvail := catalog.Availability{MinMajor: 13, Windows: true, Linux: true, MI: true}
	jobCols := "job_id uniqueidentifier, originating_server_id int, name sysname, enabled tinyint, description nvarchar(512), start_step_id int, category_id int, owner_sid varbinary(85), notify_level_eventlog int, notify_level_email int, notify_level_netsend int, notify_level_page int, delete_level int, date_created datetime, date_modified datetime, version_number int"
	jobRows := func(x *execCtx, _ *dbState) []map[string]any {
		in := x.s.in
		var out []map[string]any
		for _, j := range in.agent.jobs {
			var owner any
			if l := in.loginByNameLocked(j.owner); l != nil {
				owner = l.sid
			}
			out = append(out, map[string]any{"job_id": j.id, "originating_server_id": int64(0), "name": j.name, "enabled": bit(j.enabled),
				"description": j.description, "start_step_id": int64(j.startStep), "category_id": int64(j.categoryID), "owner_sid": owner,
				"notify_level_eventlog": int64(2), "notify_level_email": int64(0), "notify_level_netsend": int64(0), "notify_level_page": int64(0),
				"delete_level": int64(0), "date_created": j.created, "date_modified": j.created, "version_number": int64(1)})
		}
		return out
	}
	return []*sysTable{
		{schema: "dbo", name: "sysjobs", scope: "msdb", avail: agentAvail, cols: jobCols, source: src + "dbo-sysjobs-transact-sql", rows: jobRows},
		{schema: "dbo", name: "sysjobs_view", scope: "msdb", avail: agentAvail, cols: jobCols, source: "msdb.dbo.sysjobs_view (msdb source; same columns as sysjobs)", rows: jobRows},
		{schema: "dbo", name: "sysjobsteps", scope: "msdb", avail: agentAvail,
			cols:   "job_id uniqueidentifier, step_id int, step_name sysname, subsystem nvarchar(40), command nvarchar(max), flags int, additional_parameters nvarchar(max), cmdexec_success_code int, on_success_action tinyint, on_success_step_id int, on_fail_action tinyint, on_fail_step_id int, server sysname, database_name sysname, database_user_name sysname, retry_attempts int, retry_interval int, os_run_priority int, output_file_name nvarchar(200), last_run_outcome int, last_run_duration int, last_run_retries int, last_run_date int, last_run_time int, proxy_id int, step_uid uniqueidentifier",
			source: src + "dbo-sysjobsteps-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				var out []map[string]any
				for _, j := range x.s.in.agent.jobs {
					for _, s := range j.steps {
						out = append(out, map[string]any{"job_id": j.id, "step_id": int64(s.id), "step_name": s.name, "subsystem": s.subsystem, "command": s.command,
							"flags": int64(s.flags), "cmdexec_success_code": int64(0), "on_success_action": int64(s.onSuccess), "on_success_step_id": int64(s.onSuccessStep),
							"on_fail_action": int64(s.onFail), "on_fail_step_id": int64(s.onFailStep), "database_name": s.database, "retry_attempts": int64(0),
							"retry_interval": int64(0), "os_run_priority": int64(0), "last_run_outcome": int64(0), "last_run_duration": int64(0),
							"last_run_retries": int64(0), "last_run_date": int64(0), "last_run_time": int64(0), "step_uid": s.uid})
					}
				}
				return out
			}},
		{schema: "dbo", name: "sysjobhistory", scope: "msdb", avail: agentAvail,
			cols:   "instance_id int, job_id uniqueidentifier, step_id int, step_name sysname, sql_message_id int, sql_severity int, message nvarchar(4000), run_status int, run_date int, run_time int, run_duration int, operator_id_emailed int, operator_id_netsent int, operator_id_paged int, retries_attempted int, server sysname",
			source: src + "dbo-sysjobhistory-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				in := x.s.in
				var out []map[string]any
				for _, h := range in.agent.history {
					out = append(out, map[string]any{"instance_id": int64(h.instanceID), "job_id": h.jobID, "step_id": int64(h.stepID), "step_name": h.stepName,
						"sql_message_id": int64(0), "sql_severity": int64(0), "message": h.message, "run_status": int64(h.runStatus), "run_date": int64(h.runDate),
						"run_time": int64(h.runTime), "run_duration": int64(h.runDuration), "operator_id_emailed": int64(0), "operator_id_netsent": int64(0),
						"operator_id_paged": int64(0), "retries_attempted": int64(0), "server": in.opts.ServerName})
				}
				return out
			}},
		{schema: "dbo", name: "sysjobactivity", scope: "msdb", avail: agentAvail,
			cols:   "session_id int, job_id uniqueidentifier, run_requested_date datetime, run_requested_source sysname, queued_date datetime, start_execution_date datetime, last_executed_step_id int, last_executed_step_date datetime, stop_execution_date datetime, job_history_id int, next_scheduled_run_date datetime",
			source: src + "dbo-sysjobactivity-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				var out []map[string]any
				for _, a := range x.s.in.agent.activity {
					var last any
					if a.lastStep != 0 {
						last = int64(a.lastStep)
					}
					out = append(out, map[string]any{"session_id": int64(a.sessionID), "job_id": a.jobID, "run_requested_date": a.requested,
						"run_requested_source": "4", "start_execution_date": timePtr(a.start), "last_executed_step_id": last, "stop_execution_date": timePtr(a.stop)})
				}
				return out
			}},
		{schema: "dbo", name: "syssessions", scope: "msdb", avail: agentAvail,
			cols:   "session_id int, agent_start_date datetime",
			source: src + "dbo-syssessions-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				var out []map[string]any
				for i, t := range x.s.in.agent.sessions {
					out = append(out, map[string]any{"session_id": int64(i + 1), "agent_start_date": t})
				}
				return out
			}},
		{schema: "dbo", name: "sysjobstepslogs", scope: "msdb", avail: agentAvail,
			cols:   "log_id int, log nvarchar(max), date_created datetime, date_modified datetime, log_size bigint, step_uid uniqueidentifier",
			source: src + "dbo-sysjobstepslogs-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				var out []map[string]any
				n := int64(0)
				for _, j := range x.s.in.agent.jobs {
					for _, s := range j.steps {
						if l := x.s.in.agent.logs[s.uid]; l != nil {
							n++
							out = append(out, map[string]any{"log_id": n, "log": l.log, "date_created": l.created, "date_modified": l.modified,
								"log_size": int64(len(l.log)), "step_uid": s.uid})
						}
					}
				}
				return out
			}},
		{schema: "dbo", name: "backupset", scope: "msdb", avail: agentAvail,
			cols:   "backup_set_id int, backup_set_uuid uniqueidentifier, media_set_id int, name nvarchar(128), user_name nvarchar(128), backup_start_date datetime, backup_finish_date datetime, type char(1), database_name nvarchar(128), server_name nvarchar(128), machine_name nvarchar(128), recovery_model nvarchar(60), is_copy_only bit, database_guid uniqueidentifier, family_guid uniqueidentifier, database_creation_date datetime, backup_size numeric(20,0)",
			source: src + "backupset-transact-sql",
			rows: func(x *execCtx, _ *dbState) []map[string]any {
				in := x.s.in
				var out []map[string]any
				for _, b := range in.backups {
					rm := "FULL"
					if d := in.dbByNameLocked(b.database); d != nil {
						rm = d.recovery
					}
					out = append(out, map[string]any{"backup_set_id": int64(b.id), "backup_set_uuid": newGUID(), "media_set_id": int64(b.id), "user_name": "sa",
						"backup_start_date": b.start, "backup_finish_date": b.finish, "type": b.typ, "database_name": b.database, "server_name": in.opts.ServerName,
						"machine_name": strings.SplitN(in.opts.ServerName, `\`, 2)[0], "recovery_model": rm, "is_copy_only": bit(b.copyOnly),
						"database_guid": b.dbGUID, "family_guid": b.dbGUID, "database_creation_date": b.dbCreated, "backup_size": float64(3342336)})
				}
				return out
			}},
	}
}

func timePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}
