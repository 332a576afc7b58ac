package catalog

// Dynamic management views. Permission is the page's Permissions section: on SQL
// Server 2022 (16.x) and later, VIEW SERVER STATE was split into VIEW SERVER
// SECURITY STATE and VIEW SERVER PERFORMANCE STATE (both implied by VIEW SERVER
// STATE), and each page names the one it now needs
// (https://learn.microsoft.com/sql/relational-databases/security/permissions-hierarchy-database-engine).
// Without the permission a query fails with Msg 300.

// fabricNote marks the managed instance's Service Fabric views: undocumented outside
// the link preparation page, which queries section_name, parameter_name, value,
// partition_id, service_name, replica_address, replica_role and node_name. Types are
// modelled (nvarchar for text, bigint/int for ids and roles).
const fabricNote = "undocumented managed-instance view used by the link preparation page"

var dmvs = []Object{
	{
		Schema: "sys", Name: "dm_os_host_info", Kind: DMV,
		// Applies to: SQL Server 2017 (14.x) and later, and the managed instance. On 2016
		// a query naming it fails with Msg 208. Permissions: through 2019 SELECT is
		// granted to public; "On SQL Server 2022 and later versions, you require VIEW
		// SERVER PERFORMANCE STATE permission on the server". Samples: Windows
		// "Windows Server 2019 Standard" / "10.0"; Linux "Ubuntu" / "22.04".
		Avail:            Availability{MinMajor: 14, Windows: true, Linux: true, MI: true},
		Permission:       PermViewServerPerformanceState,
		PermissionFrom:   16,
		PermissionBefore: "",
		Columns: cols(`
host_platform nvarchar(256)
host_distribution nvarchar(256)
host_release nvarchar(256)
host_service_pack_level nvarchar(256)
host_sku int?
os_language_version int
`),
		Source: dmvPage("sys-dm-os-host-info-transact-sql"),
	},
	{
		Schema: "sys", Name: "dm_server_services", Kind: DMV,
		// Applies to: SQL Server (Windows and Linux); not listed for the managed instance.
		// Permissions: 2019 and earlier VIEW SERVER STATE, 2022 and later VIEW SERVER
		// SECURITY STATE (page revision of 02/09/2024).
		Avail: boxOnly,
		Columns: cols(`
servicename nvarchar(256)
startup_type int?
startup_type_desc nvarchar(256)
status int?
status_desc nvarchar(256)
process_id int
last_startup_time datetimeoffset(7)?
service_account nvarchar(256)
filename nvarchar(256)
is_clustered nvarchar(1)
cluster_nodename nvarchar(256)?
instant_file_initialization_enabled nvarchar(1)?
`),
		Permission:       PermViewServerSecurityState,
		PermissionFrom:   16,
		PermissionBefore: PermViewServerState,
		Source:           dmvPage("sys-dm-server-services-transact-sql"),
	},
	{
		Schema: "sys", Name: "dm_database_encryption_keys", Kind: DMV, Avail: everywhere,
		// Permission: VIEW SERVER STATE (the page's revision read here, 2019). From 2022
		// the security-related DMVs need VIEW SERVER SECURITY STATE (implied by VIEW
		// SERVER STATE); that 2022 value is modelled on the split, not read on this page.
		// encryption_state: 0 none, 1 unencrypted, 2 in progress, 3 encrypted, 4 key
		// change, 5 decryption, 6 protection change.
		Columns: cols(`
database_id int
encryption_state int
create_date datetime
regenerate_date datetime
modify_date datetime
set_date datetime
opened_date datetime
key_algorithm nvarchar(32)
key_length int
encryptor_thumbprint varbinary(20)
encryptor_type nvarchar(32)
percent_complete real
encryption_state_desc nvarchar(32) @15
encryption_scan_state int @15
encryption_scan_state_desc nvarchar(32) @15
encryption_scan_modify_date datetime @15
`),
		Permission:       PermViewServerSecurityState,
		PermissionFrom:   16,
		PermissionBefore: PermViewServerState,
		Source:           dmvPage("sys-dm-database-encryption-keys-transact-sql"),
	},
	{
		Schema: "sys", Name: "dm_hadr_fabric_config_parameters", Kind: DMV, Avail: miOnly,
		// Parameters the page reads: DnsRecordName, HadrPort, ClusterName, and section
		// SQL / InstanceName.
		Columns: cols(`
section_name nvarchar(256)
parameter_name nvarchar(256)
value nvarchar(4000)?
`),
		Permission: PermViewServerState,
		Source:     linkPreparation,
	},
	{
		Schema: "sys", Name: "dm_hadr_fabric_partitions", Kind: DMV, Avail: miOnly,
		Columns: cols(`
partition_id uniqueidentifier
service_name nvarchar(512)
partition_kind int?
`),
		Permission: PermViewServerState,
		Source:     linkPreparation,
	},
	{
		Schema: "sys", Name: "dm_hadr_fabric_replicas", Kind: DMV, Avail: miOnly,
		// replica_role 2 = primary (the page filters on it); replica_address is
		// "<node>\<instance>".
		Columns: cols(`
partition_id uniqueidentifier
replica_id bigint
replica_role int
replica_status int?
replica_address nvarchar(1024)
node_name nvarchar(256)
`),
		Permission: PermViewServerState,
		Source:     linkPreparation,
	},
	{
		Schema: "sys", Name: "dm_hadr_fabric_nodes", Kind: DMV, Avail: miOnly,
		Columns: cols(`
node_name nvarchar(256)
node_id nvarchar(256)?
node_status int?
upgrade_domain nvarchar(256)?
`),
		Permission: PermViewServerState,
		Source:     linkPreparation,
	},
	{
		Schema: "sys", Name: "dm_exec_connections", Kind: DMV, Avail: everywhere,
		// local_net_address / local_tcp_port: the server side of the caller's TCP
		// connection (also CONNECTIONPROPERTY('local_net_address'), which needs nothing).
		Columns: cols(`
session_id int?
most_recent_session_id int?
connect_time datetime
net_transport nvarchar(40)
protocol_type nvarchar(40)?
protocol_version int?
endpoint_id int?
encrypt_option nvarchar(40)
auth_scheme nvarchar(40)
node_affinity smallint
num_reads int?
num_writes int?
last_read datetime?
last_write datetime?
net_packet_size int?
client_net_address varchar(48)?
client_tcp_port int?
local_net_address varchar(48)?
local_tcp_port int?
connection_id uniqueidentifier
parent_connection_id uniqueidentifier?
most_recent_sql_handle varbinary(64)?
`),
		Permission:       PermViewServerPerformanceState,
		PermissionFrom:   16,
		PermissionBefore: PermViewServerState,
		Source:           dmvPage("sys-dm-exec-connections-transact-sql"),
	},
	{
		Schema: "sys", Name: "dm_exec_sessions", Kind: DMV, Avail: everywhere,
		// Without VIEW SERVER STATE (2022+: VIEW SERVER PERFORMANCE STATE) the caller
		// sees only its own session; no error, so Permission is "".
		Columns: cols(`
session_id smallint
login_time datetime
host_name nvarchar(128)?
program_name nvarchar(128)?
host_process_id int?
client_version int?
client_interface_name nvarchar(32)?
security_id varbinary(85)
login_name nvarchar(128)
nt_domain nvarchar(128)?
nt_user_name nvarchar(128)?
status nvarchar(30)
context_info varbinary(128)?
cpu_time int
memory_usage int
total_scheduled_time int
total_elapsed_time int
endpoint_id int
last_request_start_time datetime
last_request_end_time datetime?
reads bigint
writes bigint
logical_reads bigint
is_user_process bit
text_size int
language nvarchar(128)?
date_format nvarchar(3)?
date_first smallint
quoted_identifier bit
arithabort bit
ansi_null_dflt_on bit
ansi_defaults bit
ansi_warnings bit
ansi_padding bit
ansi_nulls bit
concat_null_yields_null bit
transaction_isolation_level smallint
lock_timeout int
deadlock_priority int
row_count bigint
prev_error int
original_security_id varbinary(85)
original_login_name nvarchar(128)
last_successful_logon datetime?
last_unsuccessful_logon datetime?
unsuccessful_logons bigint?
group_id int
database_id smallint
authenticating_database_id int?
open_transaction_count int
`),
		Source: dmvPage("sys-dm-exec-sessions-transact-sql"),
	},
	{
		Schema: "sys", Name: "dm_tran_locks", Kind: DMV, Avail: everywhere,
		// Permissions: VIEW SERVER STATE; 2022 and later VIEW SERVER PERFORMANCE STATE.
		// Application locks (sp_getapplock) show as resource_type APPLICATION.
		Columns: cols(`
resource_type nvarchar(60)
resource_subtype nvarchar(60)
resource_database_id int
resource_description nvarchar(256)
resource_associated_entity_id bigint?
resource_lock_partition int?
request_mode nvarchar(60)
request_type nvarchar(60)
request_status nvarchar(60)
request_reference_count smallint
request_lifetime int
request_session_id int
request_exec_context_id int
request_request_id int
request_owner_type nvarchar(60)
request_owner_id bigint?
request_owner_guid uniqueidentifier?
request_owner_lockspace_id nvarchar(32)
lock_owner_address varbinary(8)
`),
		Permission:       PermViewServerPerformanceState,
		PermissionFrom:   16,
		PermissionBefore: PermViewServerState,
		Source:           dmvPage("sys-dm-tran-locks-transact-sql"),
	},
	{
		Database: "master", Schema: "sys", Name: "server_resource_stats", Kind: View, Avail: miOnly,
		// Azure SQL Managed Instance only, in master: one row per 15-second interval,
		// about 14 days kept; sku is the service tier, "General Purpose" or "Business
		// Critical". "Available to all user roles with permissions to connect to the
		// master database": no permission beyond that.
		Columns: cols(`
start_time datetime2
end_time datetime
resource_type nvarchar(128)
resource_name nvarchar(128)
sku nvarchar(128)
hardware_generation nvarchar(128)
virtual_core_count int
avg_cpu_percent decimal(5,2)
reserved_storage_mb bigint
storage_space_used_mb decimal(18,2)
io_request bigint
io_bytes_read bigint
io_bytes_written bigint
`),
		Source: catalogView("sys-server-resource-stats-azure-sql-database"),
	},
}
