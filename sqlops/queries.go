package sqlops

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Tag names: each SELECT milink sends starts with the comment "/* milink:TAG */".
const (
	TagServerInfo      = "prereq.server"
	TagServerInfoBasic = "prereq.server.basic"
	TagAgentXPs        = "prereq.agentxps"
	TagDatabasesNoTDE  = "prereq.databases.notde"
	TagBackupPath      = "prereq.backuppath"
	TagMasterKey       = "prereq.masterkey"
	TagTraceFlags      = "prereq.traceflags"
	TagAgent           = "prereq.agent"
	TagDatabases       = "prereq.databases"
	TagFilegroups      = "prereq.filegroups"
	TagPermissions     = "prereq.permissions"
	TagEndpoints       = "prereq.endpoints"
	TagAddIssuer       = "prereq.addissuer"
	TagLocalAddress    = "net.localaddress"
	TagMIParams        = "mi.params"
	TagMIServiceTier   = "mi.tier"
	TagMIUpdateType    = "mi.updatetype"
	TagJobByName       = "job.byname"
	TagJobActivity     = "job.activity"
	TagJobHistory      = "job.history"
	TagJobStepLogs     = "job.steplogs"
	TagJobsMarked      = "cleanup.jobs"
	TagCertByName      = "cert.byname"
	TagCertsMarked     = "cleanup.certs"
	TagEndpointByName  = "endpoint.byname"
	TagEndpointsMarked = "cleanup.endpoints"
	TagListJobs        = "inventory.jobs"
	TagListCerts       = "inventory.certs"
	TagListEndpoints   = "inventory.endpoints"
)

// queries maps each tag to its T-SQL text. Values are always parameters (@name).
var queries = map[string]string{
	TagServerInfo:      serverInfoQuery(true),
	TagServerInfoBasic: serverInfoQuery(false),
	TagAgentXPs:        `SELECT (SELECT CAST(value_in_use AS int) FROM sys.configurations WHERE name = N'Agent XPs') AS agent_xps`,
	TagMasterKey:       `SELECT COUNT(*) AS master_keys FROM master.sys.symmetric_keys WHERE symmetric_key_id = 101`,
	TagTraceFlags:      `DBCC TRACESTATUS(-1) WITH NO_INFOMSGS`,
	TagAgent: `SELECT (SELECT TOP (1) status_desc FROM sys.dm_server_services WHERE servicename LIKE N'SQL Server Agent%') AS agent_status,
       (SELECT CAST(value_in_use AS int) FROM sys.configurations WHERE name = N'Agent XPs') AS agent_xps`,
	TagDatabases: databasesQuery(true),
	// The instance's default backup directory, SERVERPROPERTY('InstanceDefaultBackupPath'):
	// SQL Server 2019 (15.x) and later; NULL before, as for any property a version
	// does not know (https://learn.microsoft.com/sql/t-sql/functions/serverproperty-transact-sql).
	TagBackupPath:     `SELECT CAST(SERVERPROPERTY('InstanceDefaultBackupPath') AS nvarchar(260)) AS default_backup_path`,
	TagDatabasesNoTDE: databasesQuery(false),
	// The FILESTREAM-type files (sys.master_files type 2) of database @db by the type of
	// their filegroup: FD FILESTREAM_DATA_FILEGROUP (FILESTREAM, FileTable) or FX
	// MEMORY_OPTIMIZED_DATA_FILEGROUP (In-Memory OLTP containers), joined on
	// data_space_id (sys-master-files-transact-sql, sys-filegroups-transact-sql).
	// sys.filegroups is per database: {{db}} is the database's quoted name (QueryIn).
	TagFilegroups: `SELECT fg.type, COUNT(*) AS files
FROM sys.master_files f
JOIN {{db}}.sys.filegroups fg ON fg.data_space_id = f.data_space_id
WHERE f.database_id = DB_ID(@db) AND f.type = 2
GROUP BY fg.type`,
	TagPermissions: `SELECT CAST(IS_SRVROLEMEMBER('sysadmin') AS int) AS is_sysadmin,
       (SELECT COUNT(*) FROM msdb.sys.database_role_members rm
          JOIN msdb.sys.database_principals r ON r.principal_id = rm.role_principal_id
          JOIN msdb.sys.database_principals m ON m.principal_id = rm.member_principal_id
        WHERE r.name = N'SQLAgentOperatorRole' AND m.sid = SUSER_SID()) AS agent_operator,
       CAST(SUSER_SNAME() AS nvarchar(256)) AS login_name,
       CAST(CASE WHEN SUSER_SID() IS NULL THEN 1 ELSE 0 END AS int) AS no_sid`,
	TagEndpoints: `SELECT e.endpoint_id, e.name, e.state_desc, t.port, e.role_desc, e.connection_auth_desc,
       e.encryption_algorithm_desc, c.name AS certificate_name, c.subject AS certificate_subject, c.expiry_date AS certificate_expiry
FROM sys.database_mirroring_endpoints e
JOIN sys.tcp_endpoints t ON t.endpoint_id = e.endpoint_id
LEFT JOIN master.sys.certificates c ON c.certificate_id = e.certificate_id`,
	TagAddIssuer:    `SELECT COUNT(*) AS found FROM master.sys.all_objects WHERE name = N'sp_certificate_add_issuer'`,
	TagLocalAddress: `SELECT CAST(CONNECTIONPROPERTY('local_net_address') AS nvarchar(64)) AS local_net_address`,
	TagMIParams: `SELECT N'DnsRecordName' AS name, CAST(value AS nvarchar(512)) AS value
FROM sys.dm_hadr_fabric_config_parameters WHERE parameter_name = 'DnsRecordName'
UNION ALL
SELECT N'HadrPort', CAST(value AS nvarchar(512))
FROM sys.dm_hadr_fabric_config_parameters WHERE parameter_name = 'HadrPort'
UNION ALL
SELECT N'Node', CAST(NodeName + '.' + Cluster AS nvarchar(512))
FROM (
    SELECT SUBSTRING(replica_address, 0, CHARINDEX('\', replica_address)) AS NodeName,
        RIGHT(service_name, CHARINDEX('/', REVERSE(service_name)) - 1) AppName, JoinCol = 1
    FROM sys.dm_hadr_fabric_partitions fp
    INNER JOIN sys.dm_hadr_fabric_replicas fr ON fp.partition_id = fr.partition_id
    INNER JOIN sys.dm_hadr_fabric_nodes fn ON fr.node_name = fn.node_name
    WHERE service_name LIKE '%ManagedServer%' AND replica_role = 2
) t1
LEFT JOIN (SELECT value AS Cluster, JoinCol = 1 FROM sys.dm_hadr_fabric_config_parameters WHERE parameter_name = 'ClusterName') t2
    ON t1.JoinCol = t2.JoinCol
INNER JOIN (SELECT [value] AS AppName FROM sys.dm_hadr_fabric_config_parameters WHERE section_name = 'SQL' AND parameter_name = 'InstanceName') t3
    ON t1.AppName = t3.AppName`,
	TagJobByName: `SELECT j.job_id, j.name, ISNULL(j.description, N'') AS description, CAST(j.enabled AS int) AS enabled,
       ISNULL(c.name, N'') AS category
FROM msdb.dbo.sysjobs j LEFT JOIN msdb.dbo.syscategories c ON c.category_id = j.category_id
WHERE j.name = @name`,
	// sys.server_resource_stats (master on a managed instance; every login that can
	// connect to master may read it) has one row per 15 s with the instance's service
	// tier in sku: https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-server-resource-stats-azure-sql-database.
	TagMIServiceTier: `SELECT TOP (1) sku FROM master.sys.server_resource_stats ORDER BY start_time DESC`,
	TagMIUpdateType:  `SELECT CONVERT(nvarchar(128), SERVERPROPERTY('ProductUpdateType'))`,
	TagJobActivity: `SELECT TOP (1) a.start_execution_date, a.stop_execution_date
FROM msdb.dbo.sysjobactivity a
WHERE a.job_id = @job_id AND a.session_id = (SELECT MAX(s.session_id) FROM msdb.dbo.syssessions s)
ORDER BY a.run_requested_date DESC`,
	TagJobHistory: `SELECT h.instance_id, h.step_id, h.step_name, h.run_status, h.run_date, h.run_time, h.run_duration, h.message
FROM msdb.dbo.sysjobhistory h WHERE h.job_id = @job_id ORDER BY h.instance_id`,
	TagJobStepLogs: `SELECT s.step_id, s.step_name, ISNULL(l.log, N'') AS log
FROM msdb.dbo.sysjobsteps s LEFT JOIN msdb.dbo.sysjobstepslogs l ON l.step_uid = s.step_uid
WHERE s.job_id = @job_id ORDER BY s.step_id`,
	TagJobsMarked: `SELECT j.job_id, j.name, ISNULL(j.description, N'') AS description, ISNULL(c.name, N'') AS category
FROM msdb.dbo.sysjobs j LEFT JOIN msdb.dbo.syscategories c ON c.category_id = j.category_id
WHERE j.description LIKE @pattern ORDER BY j.name`,
	TagCertByName:  `SELECT c.certificate_id, c.name, c.subject FROM master.sys.certificates c WHERE c.name = @name`,
	TagCertsMarked: `SELECT c.certificate_id, c.name, c.subject FROM master.sys.certificates c WHERE c.subject LIKE @pattern ORDER BY c.name`,
	TagEndpointByName: `SELECT e.endpoint_id, e.name, e.type_desc, e.state_desc, ISNULL(t.port, 0) AS port,
       ISNULL(c.name, N'') AS certificate_name, ISNULL(c.subject, N'') AS certificate_subject
FROM sys.endpoints e
LEFT JOIN sys.tcp_endpoints t ON t.endpoint_id = e.endpoint_id
LEFT JOIN sys.database_mirroring_endpoints m ON m.endpoint_id = e.endpoint_id
LEFT JOIN master.sys.certificates c ON c.certificate_id = m.certificate_id
WHERE e.name = @name`,
	TagEndpointsMarked: `SELECT e.endpoint_id, e.name, e.type_desc, e.state_desc, ISNULL(t.port, 0) AS port,
       c.name AS certificate_name, c.subject AS certificate_subject
FROM sys.database_mirroring_endpoints e
JOIN sys.tcp_endpoints t ON t.endpoint_id = e.endpoint_id
JOIN master.sys.certificates c ON c.certificate_id = e.certificate_id
WHERE c.subject LIKE @pattern ORDER BY e.name`,
	TagListJobs: `SELECT j.job_id, j.name, ISNULL(j.description, N'') AS description, ISNULL(c.name, N'') AS category
FROM msdb.dbo.sysjobs j LEFT JOIN msdb.dbo.syscategories c ON c.category_id = j.category_id ORDER BY j.name`,
	TagListCerts: `SELECT c.certificate_id, c.name, c.subject FROM master.sys.certificates c ORDER BY c.name`,
	TagListEndpoints: `SELECT e.endpoint_id, e.name, e.type_desc, e.state_desc, ISNULL(t.port, 0) AS port
FROM sys.endpoints e LEFT JOIN sys.tcp_endpoints t ON t.endpoint_id = e.endpoint_id ORDER BY e.name`,
}

// queryRunLockFree tests a run's lock (RunLive). It carries its tag like every query
// but is kept out of Tags() until the simulator's query test supplies its @resource.
const queryRunLockFree = `/* milink:runlock.free */ SELECT CAST(APPLOCK_TEST('public', @resource, 'Exclusive', 'Session') AS int) AS free`

// serverInfoQuery reads SERVERPROPERTY, @@VERSION and, with hostInfo,
// sys.dm_os_host_info. Without hostInfo the platform columns are NULL: SQL Server 2016
// lacks that DMV (Msg 208, sys-dm-os-host-info-transact-sql) and 2022+ wants VIEW
// SERVER PERFORMANCE STATE for it (Msg 300); the caller then reads the platform from
// @@VERSION.
func serverInfoQuery(hostInfo bool) string {
	plat := `(SELECT TOP (1) host_platform FROM sys.dm_os_host_info) AS host_platform,
       (SELECT TOP (1) host_distribution FROM sys.dm_os_host_info) AS host_distribution`
	if !hostInfo {
		plat = `CAST(NULL AS nvarchar(256)) AS host_platform, CAST(NULL AS nvarchar(256)) AS host_distribution`
	}
	return `SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS product_version,
       CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition,
       CAST(SERVERPROPERTY('EngineEdition') AS int) AS engine_edition,
       CAST(ISNULL(SERVERPROPERTY('IsHadrEnabled'), 0) AS int) AS is_hadr_enabled,
       CAST(@@SERVERNAME AS nvarchar(256)) AS server_name,
       CAST(@@VERSION AS nvarchar(512)) AS version_text,
       CAST(SERVERPROPERTY('MachineName') AS nvarchar(128)) AS machine_name,
       ` + plat
}

// databasesQuery lists the user databases. A full backup counts only when it starts a
// log chain (is_copy_only = 0: copy-only backups don't, Error 1475 when the link is
// created) and belongs to this incarnation of the database (database_creation_date =
// create_date; a database dropped and created again under the same name has a new
// one), per the backupset page
// (https://learn.microsoft.com/sql/relational-databases/system-tables/backupset-transact-sql).
// That backup may predate a switch to SIMPLE and back, which breaks the log chain
// until the next full or differential backup: log_chain is 1 when
// sys.database_recovery_status.last_log_backup_lsn is set, 0 when it is NULL ("a
// transaction log back up cannot be performed because either the database is in
// SIMPLE recovery or there is no current database backup",
// https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-database-recovery-status-transact-sql),
// and NULL when the caller cannot see the database's row there.
// The TDE columns follow Microsoft's "Migrate a TDE certificate" page: the protecting
// certificate is the one in master whose thumbprint is the key's encryptor_thumbprint
// (https://learn.microsoft.com/azure/azure-sql/managed-instance/tde-certificate-migrate).
// Without tde, the TDE state (sys.dm_database_encryption_keys needs VIEW SERVER STATE,
// else Msg 300) is reported as -1, unknown.
func databasesQuery(tde bool) string {
	enc := `CAST(ISNULL((SELECT k.encryption_state FROM sys.dm_database_encryption_keys k WHERE k.database_id = d.database_id), 0) AS int) AS encryption_state,
       (SELECT k.encryptor_thumbprint FROM sys.dm_database_encryption_keys k WHERE k.database_id = d.database_id) AS tde_thumbprint,
       (SELECT c.name FROM sys.dm_database_encryption_keys k JOIN master.sys.certificates c ON c.thumbprint = k.encryptor_thumbprint
         WHERE k.database_id = d.database_id) AS tde_certificate`
	if !tde {
		enc = "CAST(-1 AS int) AS encryption_state, CAST(NULL AS varbinary(20)) AS tde_thumbprint, CAST(NULL AS sysname) AS tde_certificate"
	}
	return `SELECT d.name, d.recovery_model_desc, d.state_desc,
       (SELECT MAX(b.backup_finish_date) FROM msdb.dbo.backupset b
         WHERE b.database_name = d.name AND b.type = 'D' AND b.is_copy_only = 0 AND b.database_creation_date = d.create_date) AS last_full_backup,
       (SELECT COUNT(*) FROM sys.master_files f WHERE f.database_id = d.database_id AND f.type = 1) AS log_files,
       CAST(CASE WHEN rs.database_id IS NULL THEN NULL WHEN rs.last_log_backup_lsn IS NULL THEN 0 ELSE 1 END AS int) AS log_chain,
       (SELECT COUNT(*) FROM sys.master_files f WHERE f.database_id = d.database_id AND f.type = 2) AS type2_files,
       ` + enc + `
FROM sys.databases d
LEFT JOIN sys.database_recovery_status rs ON rs.database_id = d.database_id
WHERE d.database_id > 4
ORDER BY d.name`
}

// tagPattern extracts the tag from a batch.
var tagPattern = regexp.MustCompile(`/\* milink:([a-z0-9_.]+) \*/`)

// Query returns the T-SQL text for tag, starting with the tag comment. A query that
// reads a database's own catalog ({{db}}) reads master's: see QueryIn.
func Query(tag string) string { return QueryIn(tag, "master") }

// QueryIn is Query for a query that reads database db's catalog views (sys.filegroups
// exists per database): {{db}} becomes db's quoted name.
func QueryIn(tag, db string) string {
	q, ok := queries[tag]
	if !ok {
		panic(fmt.Sprintf("sqlops: unknown query tag %q", tag))
	}
	return "/* milink:" + tag + " */ " + strings.ReplaceAll(q, "{{db}}", QuoteIdentifier(db))
}

// Tags lists every query tag milink uses, sorted.
func Tags() []string {
	out := make([]string, 0, len(queries))
	for t := range queries {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// TagOf returns the milink tag that a batch carries, or "".
func TagOf(sql string) string {
	m := tagPattern.FindStringSubmatch(sql)
	if m == nil {
		return ""
	}
	return m[1]
}
