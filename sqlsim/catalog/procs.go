package catalog

// Stored procedures: parameters in the order of each page's Syntax section (with the
// types of its Arguments section and OUTPUT where documented), and the permission of
// its Permissions section.

// agentProc is a msdb Agent procedure that sysadmin and the Agent roles may run
// (each page: "By default, members of the sysadmin fixed server role can execute this
// stored procedure. Other users must be granted one of the SQL Server Agent fixed
// database roles in msdb": SQLAgentUserRole and the roles that include it).
func agentProc(name, page, ps string) Object {
	return Object{Database: "msdb", Schema: "dbo", Name: name, Kind: Procedure, Avail: everywhere,
		Params: params(ps), Permission: PermAgentUser, Source: procPage(page)}
}

// sysProc is a system procedure in the sys schema, found from every database.
func sysProc(name, page, ps, perm string, avail Availability) Object {
	return Object{Schema: "sys", Name: name, Kind: Procedure, Avail: avail,
		Params: params(ps), Permission: perm, Source: procPage(page)}
}

// agentXP is one of the Agent's extended procedures (master.dbo.xp_sqlagent_*; like
// every system extended procedure it resolves from any database), executable only
// with an explicit EXECUTE permission (or sysadmin). Its parameters are not documented.
func agentXP(name string) Object {
	return Object{Schema: "sys", Name: name, Kind: Procedure, Avail: everywhere,
		Permission: PermExecute, Source: jobAutomationMI}
}

// jobRef are the parameters that name a job (either, not both).
const jobRef = `
@job_id uniqueidentifier
@job_name sysname
`

// jobNotify are the notification and deletion parameters sp_add_job and
// sp_update_job share.
const jobNotify = `
@notify_level_eventlog int
@notify_level_email int
@notify_level_netsend int
@notify_level_page int
@notify_email_operator_name sysname
@notify_netsend_operator_name sysname
@notify_page_operator_name sysname
@delete_level int
`

var procedures = []Object{
	// sp_add_job: @job_id is OUTPUT; without @owner_login_name the caller owns the job.
	// Errors: 14261 (name exists).
	agentProc("sp_add_job", "sp-add-job-transact-sql", `
@job_name sysname
@enabled tinyint
@description nvarchar(512)
@start_step_id int
@category_name sysname
@category_id int
@owner_login_name sysname
`+jobNotify+`@job_id uniqueidentifier OUTPUT
@originating_server sysname
`),
	// sp_add_jobstep: a non-T-SQL step owned by a non-sysadmin needs a proxy (Remarks).
	agentProc("sp_add_jobstep", "sp-add-jobstep-transact-sql", jobRef+`
@step_id int
@step_name sysname
@subsystem nvarchar(40)
@command nvarchar(max)
@additional_parameters ntext
@cmdexec_success_code int
@on_success_action tinyint
@on_success_step_id int
@on_fail_action tinyint
@on_fail_step_id int
@server nvarchar(30)
@database_name sysname
@database_user_name sysname
@retry_attempts int
@retry_interval int
@os_run_priority int
@output_file_name nvarchar(200)
@flags int
@proxy_id int
@proxy_name sysname
@step_uid uniqueidentifier OUTPUT
`),
	agentProc("sp_add_jobserver", "sp-add-jobserver-transact-sql", jobRef+`
@server_name nvarchar(128)
`),
	// sp_start_job: success is informational message 14243; Agent not running or the
	// job already running: 22022.
	agentProc("sp_start_job", "sp-start-job-transact-sql", `
@job_name sysname
@job_id uniqueidentifier
@error_flag int
@server_name sysname
@step_name sysname
@output_flag int
`),
	agentProc("sp_stop_job", "sp-stop-job-transact-sql", `
@job_name sysname
@job_id uniqueidentifier
@originating_server sysname
@server_name sysname
`),
	// sp_delete_job: a missing job is 14262.
	agentProc("sp_delete_job", "sp-delete-job-transact-sql", jobRef+`
@originating_server nvarchar(256)
@delete_history bit
@delete_unused_schedule bit
`),
	agentProc("sp_update_job", "sp-update-job-transact-sql", jobRef+`
@new_name sysname
@enabled tinyint
@description nvarchar(512)
@start_step_id int
@category_name sysname
@owner_login_name sysname
`+jobNotify+`@automatic_post bit
`),
	agentProc("sp_help_job", "sp-help-job-transact-sql", jobRef+`
@job_aspect varchar(9)
@job_type varchar(12)
@owner_login_name sysname
@subsystem nvarchar(40)
@category_name sysname
@enabled tinyint
@execution_status int
@date_comparator char(1)
@date_created datetime
@date_last_modified datetime
@description nvarchar(512)
`),
	{
		// sp_add_category: "Only members of the sysadmin fixed server role can execute".
		Database: "msdb", Schema: "dbo", Name: "sp_add_category", Kind: Procedure, Avail: everywhere,
		Params: params(`
@class varchar(8)
@type varchar(12)
@name sysname
`),
		Permission: PermSysadmin, Source: procPage("sp-add-category-transact-sql"),
	},
	// sp_configure: listing needs nothing; changing a value needs ALTER SETTINGS (the
	// evaluator checks that when @configvalue is given). 'Agent XPs' is an advanced
	// option ('show advanced options' 1 first), and is not changeable on a managed
	// instance.
	sysProc("sp_configure", "sp-configure-transact-sql", `
@configname varchar(35)
@configvalue int
`, "", everywhere),
	sysProc("sp_executesql", "sp-executesql-transact-sql", `
@stmt nvarchar(max)
@params nvarchar(max)
`, "", everywhere),
	// sp_getapplock returns >= 0 on success (0 granted, 1 after waiting), -1 timeout,
	// -2 canceled, -3 deadlock victim, -999 parameter error; the caller needs public
	// membership of the current database.
	sysProc("sp_getapplock", "sp-getapplock-transact-sql", `
@Resource nvarchar(255)
@LockMode varchar(32)
@LockOwner varchar(32)
@LockTimeout int
@DbPrincipal sysname
`, "", everywhere),
	sysProc("sp_releaseapplock", "sp-releaseapplock-transact-sql", `
@Resource nvarchar(255)
@LockOwner varchar(32)
@DbPrincipal sysname
`, "", everywhere),
	{
		// sp_certificate_add_issuer (certificate id, issuer name such as
		// N'*.database.windows.net'; called positionally in Microsoft's scripts, so the
		// parameter names here are modelled). It comes with the servicing update the link
		// needs: the 2016 SP3 / 2017 CU31 Azure Connect packs, 2019 CU20; 2022 and 2025 from
		// RTM. A missing one fails with Msg 2812 (FACTS.md; the link configuration page's
		// troubleshooting: "can't find the stored procedure sp_certificate_add_issuer").
		Schema: "sys", Name: "sp_certificate_add_issuer", Kind: Procedure,
		Avail: Availability{MinMajor: 13, Windows: true, Linux: true, MI: false, BoxOnly: true,
			MinBuild:  []string{"13.0.7000.253", "14.0.3490.10", "15.0.4312.2"},
			Condition: "installed by the servicing update the link needs (Azure Connect pack on 2016/2017, CU20 on 2019)"},
		Params: params(`
@certificate_id int
@issuer_name nvarchar(4000)
`),
		Permission: PermControlServer, // modelled: the pages do not say
		Source:     "https://learn.microsoft.com/azure/azure-sql/managed-instance/managed-instance-link-configure-how-to-scripts",
	},
	// The Agent's extended procedures in master. On a managed instance a login that is
	// only in an msdb Agent role needs an explicit GRANT EXECUTE on these three, or the
	// Agent procedures fail with Error 229 (job automation page, "SQL Agent fixed
	// database role membership"; FACTS.md).
	agentXP("xp_sqlagent_enum_jobs"),
	agentXP("xp_sqlagent_is_starting"),
	agentXP("xp_sqlagent_notify"),
	{
		// xp_fileexist is undocumented: no Microsoft page describes it. Its widely used
		// shape: EXEC xp_fileexist 'path' returns one row (File Exists, File is a
		// Directory, Parent Directory Exists), or fills an int OUTPUT as second argument.
		// Execution taken to need sysadmin (modelled). Source says "undocumented".
		Schema: "sys", Name: "xp_fileexist", Kind: Procedure, Avail: everywhere,
		Params: params(`
@filename nvarchar(4000)
@file_exists int OUTPUT
`),
		Permission: PermSysadmin,
		Source:     Undocumented + "extended procedure; shape modelled on common use",
	},
}
