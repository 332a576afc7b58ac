package catalog

import "strings"

// msdb's SQL Server Agent and backup-history tables. Their pages are under
// system-tables (dbo.sysjobs ...) and have no Permissions section granting anything
// to public: reading them directly takes sysadmin, db_owner/db_datareader in msdb, or
// an explicit GRANT SELECT (the Agent roles read jobs through sysjobs_view and the
// sp_help_* procedures,
// https://learn.microsoft.com/sql/ssms/agent/sql-server-agent-fixed-database-roles).
// Permission PermSelect says so (dbo.sysjobs' page, Security: "Grant SELECT access
// only to users who need it"). The pages say "Applies to: SQL Server"; the managed
// instance has them too: the link preparation page's NetHelper script, run on the
// managed instance, reads msdb.dbo.sysjobs, sysjobactivity, sysjobsteps and
// sysjobstepslogs. So they exist on every personality (Agent runs on Windows, Linux
// and the managed instance).

// msdbTable is a msdb dbo table readable with PermSelect.
func msdbTable(name, page string, columns []Column) Object {
	return Object{Database: "msdb", Schema: "dbo", Name: name, Kind: Table, Avail: everywhere,
		Columns: columns, Permission: PermSelect, Source: tablePage(page)}
}

// sysjobsCols are dbo.sysjobs' columns.
var sysjobsCols = cols(`
job_id uniqueidentifier
originating_server_id int
name sysname
enabled tinyint
description nvarchar(512)?
start_step_id int
category_id int
owner_sid varbinary(85)
notify_level_eventlog int
notify_level_email int
notify_level_netsend int
notify_level_page int
notify_email_operator_id int
notify_netsend_operator_id int
notify_page_operator_id int
delete_level int
date_created datetime
date_modified datetime
version_number int
`)

var msdbObjects = []Object{
	msdbTable("sysjobs", "dbo-sysjobs-transact-sql", sysjobsCols),
	{
		// sysjobs_view: the jobs the caller may see (its own, or all for sysadmin and
		// SQLAgentReaderRole/OperatorRole); SELECT is granted to SQLAgentUserRole. Not
		// documented on its own page; the link preparation page's script reads it.
		Database: "msdb", Schema: "dbo", Name: "sysjobs_view", Kind: View, Avail: everywhere,
		Columns: join(cols(`
job_id uniqueidentifier
originating_server nvarchar(128)?
`), sysjobsCols[2:], cols(`
originating_server_id int
master_server bit
`)),
		Permission: PermAgentUser,
		Source:     linkPreparation,
	},
	msdbTable("sysjobsteps", "dbo-sysjobsteps-transact-sql", cols(`
job_id uniqueidentifier
step_id int
step_name sysname
subsystem nvarchar(40)
command nvarchar(max)?
flags int
additional_parameters ntext?
cmdexec_success_code int
on_success_action tinyint
on_success_step_id int
on_fail_action tinyint
on_fail_step_id int
server sysname?
database_name sysname?
database_user_name sysname?
retry_attempts int
retry_interval int
os_run_priority int
output_file_name nvarchar(200)?
last_run_outcome int
last_run_duration int
last_run_retries int
last_run_date int
last_run_time int
proxy_id int?
step_uid uniqueidentifier?
`)),
	// run_status 0 failed, 1 succeeded, 2 retry, 3 canceled, 4 in progress; run_date
	// yyyymmdd, run_time and run_duration HHMMSS; step_id 0 is the job outcome.
	msdbTable("sysjobhistory", "dbo-sysjobhistory-transact-sql", cols(`
instance_id int
job_id uniqueidentifier
step_id int
step_name sysname
sql_message_id int
sql_severity int
message nvarchar(4000)?
run_status int
run_date int
run_time int
run_duration int
operator_id_emailed int
operator_id_netsent int
operator_id_paged int
retries_attempted int
server sysname
`)),
	msdbTable("sysjobactivity", "dbo-sysjobactivity-transact-sql", cols(`
session_id int
job_id uniqueidentifier
run_requested_date datetime?
run_requested_source sysname?
queued_date datetime?
start_execution_date datetime?
last_executed_step_id int?
last_executed_step_date datetime?
stop_execution_date datetime?
job_history_id int?
next_scheduled_run_date datetime?
`)),
	msdbTable("syssessions", "dbo-syssessions-transact-sql", cols(`
session_id int
agent_start_date datetime
`)),
	// Step output logged with @flags 8 or 16 (log to table).
	msdbTable("sysjobstepslogs", "dbo-sysjobstepslogs-transact-sql", cols(`
log_id int
log nvarchar(max)
date_created datetime
date_modified datetime
log_size bigint
step_uid uniqueidentifier
`)),
	msdbTable("sysjobservers", "dbo-sysjobservers-transact-sql", cols(`
job_id uniqueidentifier
server_id int
last_run_outcome tinyint
last_outcome_message nvarchar(4000)?
last_run_date int
last_run_time int
last_run_duration int
`)),
	msdbTable("syscategories", "dbo-syscategories-transact-sql", cols(`
category_id int
category_class int
category_type tinyint
name sysname
`)),
	// type: D database (full), I differential, L log, F file/filegroup, ...;
	// is_copy_only 1 for COPY_ONLY backups (which start no log chain).
	msdbTable("backupset", "backupset-transact-sql", cols(`
backup_set_id int
backup_set_uuid uniqueidentifier
media_set_id int
first_family_number tinyint?
first_media_number smallint?
last_family_number tinyint?
last_media_number smallint?
catalog_family_number tinyint?
catalog_media_number smallint?
position int?
expiration_date datetime?
software_vendor_id int?
name nvarchar(128)?
description nvarchar(255)?
user_name nvarchar(128)?
software_major_version tinyint?
software_minor_version tinyint?
software_build_version smallint?
time_zone smallint?
mtf_minor_version tinyint?
first_lsn numeric(25,0)?
last_lsn numeric(25,0)?
checkpoint_lsn numeric(25,0)?
database_backup_lsn numeric(25,0)?
database_creation_date datetime?
backup_start_date datetime?
backup_finish_date datetime?
type char(1)?
sort_order smallint?
code_page smallint?
compatibility_level tinyint?
database_version int?
backup_size numeric(20,0)?
database_name nvarchar(128)?
server_name nvarchar(128)?
machine_name nvarchar(128)?
flags int?
unicode_locale int?
unicode_compare_style int?
collation_name nvarchar(128)?
is_password_protected bit?
recovery_model nvarchar(60)?
has_bulk_logged_data bit?
is_snapshot bit?
is_readonly bit?
is_single_user bit?
has_backup_checksums bit?
is_damaged bit?
begins_log_chain bit?
has_incomplete_metadata bit?
is_force_offline bit?
is_copy_only bit?
first_recovery_fork_guid uniqueidentifier?
last_recovery_fork_guid uniqueidentifier?
fork_point_lsn numeric(25,0)?
database_guid uniqueidentifier?
family_guid uniqueidentifier?
differential_base_lsn numeric(25,0)?
differential_base_guid uniqueidentifier?
compressed_backup_size numeric(20,0)?
key_algorithm nvarchar(32)?
encryptor_thumbprint varbinary(20)?
encryptor_type nvarchar(32)?
`)),
	msdbTable("backupmediafamily", "backupmediafamily-transact-sql", cols(`
media_set_id int
family_sequence_number tinyint
media_family_id uniqueidentifier?
media_count int?
logical_device_name nvarchar(128)?
physical_device_name nvarchar(260)?
device_type tinyint?
physical_block_size int?
mirror tinyint
`)),
}

// Subsystem is a SQL Server Agent job-step subsystem (sp_add_jobstep @subsystem) and
// where Agent can run it. A step whose subsystem the personality lacks cannot start.
type Subsystem struct {
	Name   string // as sp_add_jobstep takes it, e.g. "TSQL", "PowerShell", "CmdExec"
	Avail  Availability
	Source string
}

// Subsystems are the job-step subsystems milink and the link scripts use.
//   - TSQL runs everywhere.
//   - PowerShell: not on Linux ("Executing PowerShell scripts by the SQL Server Agent
//     on SQL Server on Linux is not currently supported", the link preparation page);
//     on the managed instance it runs (the same page's NetHelper job is a PowerShell
//     step run there).
//   - CmdExec: not on Linux (FACTS.md: Agent on Linux runs only T-SQL steps); on the
//     managed instance "OS command/PowerShell steps that can execute custom OS script"
//     are available (job automation page), though it has no proxies, so only sysadmin
//     owners can run them.
var Subsystems = []Subsystem{
	{Name: "TSQL", Avail: everywhere, Source: procPage("sp-add-jobstep-transact-sql")},
	{Name: "PowerShell", Avail: Availability{MinMajor: 13, Windows: true, MI: true}, Source: linkPreparation},
	{Name: "CmdExec", Avail: Availability{MinMajor: 13, Windows: true, MI: true}, Source: jobAutomationMI},
}

// jobAutomationMI is "Automate management tasks using SQL Agent jobs in Azure SQL
// Managed Instance".
const jobAutomationMI = "https://learn.microsoft.com/azure/azure-sql/managed-instance/job-automation-managed-instance"

// SubsystemOn returns the subsystem called name (case-insensitive) if personality p's
// Agent can run it. sp_add_jobstep accepts the names of the page; a name it does not
// know fails there, one p cannot run fails when the step starts.
func SubsystemOn(p Personality, name string) (Subsystem, bool) {
	for _, s := range Subsystems {
		if strings.EqualFold(s.Name, name) {
			return s, s.Avail.Has(p)
		}
	}
	return Subsystem{}, false
}
