package catalog

// Catalog views. Columns, types and nullability are those of each view's Learn page
// (Source); catalog views need no permission to query, they show only the rows the
// caller may see ("Metadata visibility", each page's Permissions section), so
// Permission is "". All of them exist on every personality unless Avail says otherwise.

// endpointCols are sys.endpoints' columns, which sys.tcp_endpoints and
// sys.database_mirroring_endpoints inherit (their pages: "Inherited columns").
var endpointCols = cols(`
name sysname
endpoint_id int
principal_id int?
protocol tinyint
protocol_desc nvarchar(60)?
type tinyint
type_desc nvarchar(60)?
state tinyint?
state_desc nvarchar(60)?
is_admin_endpoint bit
`)

// objectCols are sys.objects' columns, which sys.all_objects has too and
// sys.procedures inherits.
var objectCols = cols(`
name sysname
object_id int
principal_id int?
schema_id int
parent_object_id int
type char(2)
type_desc nvarchar(60)?
create_date datetime
modify_date datetime
is_ms_shipped bit
is_published bit
is_schema_published bit
`)

// permissionCols are the columns sys.server_permissions and sys.database_permissions
// share.
var permissionCols = cols(`
class tinyint
class_desc nvarchar(60)?
major_id int
minor_id int
grantee_principal_id int
grantor_principal_id int
type char(4)
permission_name nvarchar(128)?
state char(1)
state_desc nvarchar(60)?
`)

// roleMemberCols are the columns of sys.server_role_members and sys.database_role_members.
var roleMemberCols = cols(`
role_principal_id int
member_principal_id int
`)

var sysViews = []Object{
	{
		Schema: "sys", Name: "databases", Kind: View, Avail: everywhere,
		// The page lists more columns (replication, Stretch, ledger ...); these are the
		// ones through is_accelerated_database_recovery_on plus is_ledger_on.
		Columns: cols(`
name sysname
database_id int
source_database_id int?
owner_sid varbinary(85)?
create_date datetime
compatibility_level tinyint
collation_name sysname?
user_access tinyint?
user_access_desc nvarchar(60)?
is_read_only bit?
is_auto_close_on bit
is_auto_shrink_on bit?
state tinyint?
state_desc nvarchar(60)?
is_in_standby bit?
is_cleanly_shutdown bit?
is_supplemental_logging_enabled bit?
snapshot_isolation_state tinyint?
snapshot_isolation_state_desc nvarchar(60)?
is_read_committed_snapshot_on bit?
recovery_model tinyint?
recovery_model_desc nvarchar(60)?
page_verify_option tinyint?
page_verify_option_desc nvarchar(60)?
is_auto_create_stats_on bit?
is_auto_create_stats_incremental_on bit?
is_auto_update_stats_on bit?
is_auto_update_stats_async_on bit?
is_ansi_null_default_on bit?
is_ansi_nulls_on bit?
is_ansi_padding_on bit?
is_ansi_warnings_on bit?
is_arithabort_on bit?
is_concat_null_yields_null_on bit?
is_numeric_roundabort_on bit?
is_quoted_identifier_on bit?
is_recursive_triggers_on bit?
is_cursor_close_on_commit_on bit?
is_local_cursor_default bit?
is_fulltext_enabled bit?
is_trustworthy_on bit?
is_db_chaining_on bit?
is_parameterization_forced bit?
is_master_key_encrypted_by_server bit
is_query_store_on bit?
is_published bit
is_subscribed bit
is_merge_published bit
is_distributor bit
is_sync_with_backup bit
service_broker_guid uniqueidentifier
is_broker_enabled bit
log_reuse_wait tinyint?
log_reuse_wait_desc nvarchar(60)?
is_date_correlation_on bit
is_cdc_enabled bit
is_encrypted bit?
is_honor_broker_priority_on bit?
replica_id uniqueidentifier?
group_database_id uniqueidentifier?
resource_pool_id int?
default_language_lcid smallint?
default_language_name nvarchar(128)?
default_fulltext_language_lcid int?
default_fulltext_language_name nvarchar(128)?
is_nested_triggers_on bit?
is_transform_noise_words_on bit?
two_digit_year_cutoff smallint?
containment tinyint?
containment_desc nvarchar(60)?
target_recovery_time_in_seconds int?
delayed_durability int?
delayed_durability_desc nvarchar(60)?
is_memory_optimized_elevate_to_snapshot_on bit?
is_federation_member bit?
is_remote_data_archive_enabled bit?
is_mixed_page_allocation_on bit?
is_temporal_history_retention_enabled bit? @14
catalog_collation_type int @15
catalog_collation_type_desc nvarchar(60) @15
physical_database_name nvarchar(128)? @15
is_result_set_caching_on bit? @15
is_accelerated_database_recovery_on bit? @15
is_tempdb_spill_to_remote_store bit? @15
is_stale_page_detection_on bit? @15
is_memory_optimized_enabled bit? @15
is_data_retention_enabled bit? @16
is_ledger_on bit? @16
is_change_feed_enabled bit? @16
`),
		Source: catalogView("sys-databases-transact-sql"),
	},
	{
		Schema: "sys", Name: "master_files", Kind: View, Avail: everywhere,
		// type: 0 rows, 1 log, 2 FILESTREAM (also memory-optimized containers), 4 full-text.
		Columns: cols(`
database_id int
file_id int
file_guid uniqueidentifier?
type tinyint
type_desc nvarchar(60)?
data_space_id int
name sysname
physical_name nvarchar(260)
state tinyint?
state_desc nvarchar(60)?
size int
max_size int
growth int
is_media_read_only bit
is_read_only bit
is_sparse bit
is_percent_growth bit
is_name_reserved bit
is_persistent_log_buffer bit @15
create_lsn numeric(25,0)?
drop_lsn numeric(25,0)?
read_only_lsn numeric(25,0)?
read_write_lsn numeric(25,0)?
differential_base_lsn numeric(25,0)?
differential_base_guid uniqueidentifier?
differential_base_time datetime?
redo_start_lsn numeric(25,0)?
redo_start_fork_guid uniqueidentifier?
redo_target_lsn numeric(25,0)?
redo_target_fork_guid uniqueidentifier?
backup_lsn numeric(25,0)?
credential_id int?
`),
		Source: catalogView("sys-master-files-transact-sql"),
	},
	{
		// One row per database; last_log_backup_lsn is "the starting log sequence number
		// of the next log backup. If NULL, a transaction log back up cannot be performed
		// because either the database is in SIMPLE recovery or there is no current
		// database backup". The page applies to SQL Server (boxOnly).
		Schema: "sys", Name: "database_recovery_status", Kind: View, Avail: everywhere,
		Columns: cols(`
database_id int
database_guid uniqueidentifier?
family_guid uniqueidentifier?
last_log_backup_lsn numeric(25,0)?
recovery_fork_guid uniqueidentifier?
first_recovery_fork_guid uniqueidentifier?
fork_point_lsn numeric(25,0)?
`),
		Source: catalogView("sys-database-recovery-status-transact-sql"),
	},
	{
		Schema: "sys", Name: "filegroups", Kind: View, Avail: everywhere,
		// type: FG rows, FD FILESTREAM, FX memory-optimized data, PG/... (page).
		Columns: cols(`
name sysname
data_space_id int
type char(2)
type_desc nvarchar(60)?
is_default bit?
is_system bit?
filegroup_guid uniqueidentifier?
log_filegroup_id int?
is_read_only bit?
is_autogrow_all_files bit?
`),
		Source: catalogView("sys-filegroups-transact-sql"),
	},
	{
		Schema: "sys", Name: "symmetric_keys", Kind: View, Avail: everywhere,
		// The database master key is symmetric_key_id 101, name ##MS_DatabaseMasterKey##.
		Columns: cols(`
name sysname
principal_id int?
symmetric_key_id int
key_length int
key_algorithm char(2)
algorithm_desc nvarchar(60)?
create_date datetime
modify_date datetime
key_guid uniqueidentifier?
key_thumbprint sql_variant?
provider_type nvarchar(120)?
cryptographic_provider_guid uniqueidentifier?
cryptographic_provider_algid sql_variant?
`),
		Source: catalogView("sys-symmetric-keys-transact-sql"),
	},
	{
		Schema: "sys", Name: "certificates", Kind: View, Avail: everywhere,
		// pvt_key_encryption_type: NA no private key, MK encrypted by the master key,
		// PW by a password, SK by the service master key.
		Columns: cols(`
name sysname
certificate_id int
principal_id int?
pvt_key_encryption_type char(2)
pvt_key_encryption_type_desc nvarchar(60)?
is_active_for_begin_dialog bit?
issuer_name nvarchar(442)?
cert_serial_number nvarchar(64)?
sid varbinary(85)?
string_sid nvarchar(128)?
subject nvarchar(4000)?
expiry_date datetime?
start_date datetime?
thumbprint varbinary(32)
attested_by nvarchar(260)?
pvt_key_last_backup_date datetime?
`),
		Source: catalogView("sys-certificates-transact-sql"),
	},
	{
		Schema: "sys", Name: "endpoints", Kind: View, Avail: everywhere,
		Columns: endpointCols,
		Source:  catalogView("sys-endpoints-transact-sql"),
	},
	{
		Schema: "sys", Name: "tcp_endpoints", Kind: View, Avail: everywhere,
		Columns: join(endpointCols, cols(`
port int
is_dynamic_port bit
ip_address nvarchar(45)?
`)),
		Source: catalogView("sys-tcp-endpoints-transact-sql"),
	},
	{
		Schema: "sys", Name: "database_mirroring_endpoints", Kind: View, Avail: everywhere,
		// connection_auth_desc e.g. CERTIFICATE; encryption_algorithm_desc e.g. AES.
		Columns: join(endpointCols, cols(`
role tinyint?
role_desc nvarchar(60)?
is_encryption_enabled bit
connection_auth tinyint
connection_auth_desc nvarchar(60)?
certificate_id int
encryption_algorithm tinyint
encryption_algorithm_desc nvarchar(60)?
`)),
		Source: catalogView("sys-database-mirroring-endpoints-transact-sql"),
	},
	{
		Schema: "sys", Name: "configurations", Kind: View, Avail: everywhere,
		Columns: cols(`
configuration_id int
name nvarchar(35)
value sql_variant?
minimum sql_variant?
maximum sql_variant?
value_in_use sql_variant?
description nvarchar(255)?
is_dynamic bit
is_advanced bit
`),
		Source: catalogView("sys-configurations-transact-sql"),
	},
	{
		Schema: "sys", Name: "server_principals", Kind: View, Avail: everywhere,
		// type: S SQL login, U Windows login, G Windows group, R server role, C/K
		// certificate/key login, E/X Microsoft Entra login/group (2022+ and MI).
		Columns: cols(`
name sysname
principal_id int
sid varbinary(85)?
type char(1)
type_desc nvarchar(60)?
is_disabled int?
create_date datetime
modify_date datetime
default_database_name sysname?
default_language_name sysname?
credential_id int?
owning_principal_id int?
is_fixed_role bit
`),
		Source: catalogView("sys-server-principals-transact-sql"),
	},
	{
		Schema: "sys", Name: "server_role_members", Kind: View, Avail: everywhere,
		Columns: roleMemberCols,
		Source:  catalogView("sys-server-role-members-transact-sql"),
	},
	{
		Schema: "sys", Name: "database_principals", Kind: View, Avail: everywhere,
		Columns: cols(`
name sysname
principal_id int
type char(1)
type_desc nvarchar(60)?
default_schema_name sysname?
create_date datetime
modify_date datetime
owning_principal_id int?
sid varbinary(85)?
is_fixed_role bit
authentication_type int
authentication_type_desc nvarchar(60)
default_language_name sysname?
default_language_lcid int?
allow_encrypted_value_modifications bit
`),
		Source: catalogView("sys-database-principals-transact-sql"),
	},
	{
		Schema: "sys", Name: "database_role_members", Kind: View, Avail: everywhere,
		Columns: roleMemberCols,
		Source:  catalogView("sys-database-role-members-transact-sql"),
	},
	{
		Schema: "sys", Name: "database_permissions", Kind: View, Avail: everywhere,
		Columns: permissionCols,
		Source:  catalogView("sys-database-permissions-transact-sql"),
	},
	{
		Schema: "sys", Name: "server_permissions", Kind: View, Avail: everywhere,
		Columns: permissionCols,
		Source:  catalogView("sys-server-permissions-transact-sql"),
	},
	{
		Schema: "sys", Name: "objects", Kind: View, Avail: everywhere,
		Columns: objectCols,
		Source:  catalogView("sys-objects-transact-sql"),
	},
	{
		// sys.all_objects: user-defined and system objects (sp_certificate_add_issuer
		// shows here once the Azure Connect pack is installed).
		Schema: "sys", Name: "all_objects", Kind: View, Avail: everywhere,
		Columns: objectCols,
		Source:  catalogView("sys-all-objects-transact-sql"),
	},
	{
		Schema: "sys", Name: "procedures", Kind: View, Avail: everywhere,
		Columns: join(objectCols, cols(`
is_auto_executed bit
is_execution_replicated bit?
is_repl_serializable_only bit?
skips_repl_constraints bit?
`)),
		Source: catalogView("sys-procedures-transact-sql"),
	},
	{
		Schema: "sys", Name: "schemas", Kind: View, Avail: everywhere,
		Columns: cols(`
name sysname
schema_id int
principal_id int?
`),
		Source: catalogView("schemas-catalog-views-sys-schemas"),
	},
	{
		Schema: "sys", Name: "sql_modules", Kind: View, Avail: everywhere,
		Columns: cols(`
object_id int
definition nvarchar(max)?
uses_ansi_nulls bit?
uses_quoted_identifier bit?
is_schema_bound bit?
uses_database_collation bit?
is_recompiled bit?
null_on_null_input bit?
execute_as_principal_id int?
uses_native_compilation bit?
inline_type bit? @15
is_inlineable bit? @15
`),
		Source: catalogView("sys-sql-modules-transact-sql"),
	},
	{
		Schema: "sys", Name: "availability_groups", Kind: View, Avail: everywhere,
		Columns: cols(`
group_id uniqueidentifier
name sysname?
resource_id nvarchar(40)?
resource_group_id nvarchar(40)?
failure_condition_level int?
health_check_timeout int?
automated_backup_preference tinyint?
automated_backup_preference_desc nvarchar(60)?
version smallint?
basic_features bit?
dtc_support bit?
db_failover bit?
is_distributed bit?
cluster_type tinyint @14
cluster_type_desc nvarchar(60) @14
required_synchronized_secondaries_to_commit int @14
sequence_number bigint @14
is_contained bit? @16
`),
		Source: catalogView("sys-availability-groups-transact-sql"),
	},
}
