package sqlops

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The preparation steps of "Prepare your environment for a link"
// (https://learn.microsoft.com/azure/azure-sql/managed-instance/managed-instance-link-preparation):
// the statements milink applies with consent (steps/prepare.go). Each function runs
// exactly the statement its Statement* companion shows, with the user's values as
// parameters or validated, bracket-quoted identifiers.

// Query tags of the preparation's reads.
const (
	TagDataSizes    = "prepare.datasizes"
	TagUserSessions = "prepare.sessions"
	TagShowAdvanced = "prepare.showadvanced"
)

func init() {
	// The data files' allocated size per user database (sys.master_files.size is in 8-KB
	// pages: https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-master-files-transact-sql).
	queries[TagDataSizes] = `SELECT d.name, SUM(CAST(f.size AS bigint)) * 8 AS data_kb
FROM sys.databases d JOIN sys.master_files f ON f.database_id = d.database_id AND f.type = 0
WHERE d.database_id > 4
GROUP BY d.name`
	// User sessions other than milink's own (sys.dm_exec_sessions.is_user_process:
	// https://learn.microsoft.com/sql/relational-databases/system-dynamic-management-views/sys-dm-exec-sessions-transact-sql).
	queries[TagUserSessions] = `SELECT COUNT(*) AS user_sessions FROM sys.dm_exec_sessions WHERE is_user_process = 1 AND session_id <> @@SPID`
	queries[TagShowAdvanced] = `SELECT (SELECT CAST(value_in_use AS int) FROM sys.configurations WHERE name = N'show advanced options') AS show_advanced`
}

// MasterKeyPlaceholder stands for the master key password wherever a statement is shown.
const MasterKeyPlaceholder = "<master_key_password>"

// StatementCreateMasterKey is the statement CreateMasterKey runs, with the password
// replaced by MasterKeyPlaceholder (CREATE MASTER KEY:
// https://learn.microsoft.com/sql/t-sql/statements/create-master-key-transact-sql).
const StatementCreateMasterKey = "USE master; CREATE MASTER KEY ENCRYPTION BY PASSWORD = '" + MasterKeyPlaceholder + "';"

// CreateMasterKey creates the database master key in master, encrypted by password.
// CREATE MASTER KEY takes no variable for the password, so the password travels as a
// parameter and the server quotes it into the statement (REPLACE of ' by ”), run with
// EXEC; the password never appears in a batch text milink writes. An existing key is
// SQL Server's Msg 15578.
func (c *Conn) CreateMasterKey(ctx context.Context, password string) error {
	if password == "" {
		return fmt.Errorf("%w: the master key password is empty", ErrInvalidInput)
	}
	const batch = `USE master;
DECLARE @stmt nvarchar(max) = N'CREATE MASTER KEY ENCRYPTION BY PASSWORD = N''' + REPLACE(@pw, N'''', N'''''') + N''';';
EXEC (@stmt);`
	if _, err := c.DB.ExecContext(ctx, batch, sql.Named("pw", password)); err != nil {
		return fmt.Errorf("create the database master key: %w", err)
	}
	return nil
}

// StatementRecoveryFull is the ALTER DATABASE … SET RECOVERY FULL statement for db
// (https://learn.microsoft.com/sql/t-sql/statements/alter-database-transact-sql-set-options).
func StatementRecoveryFull(db string) string {
	return "ALTER DATABASE " + QuoteIdentifier(db) + " SET RECOVERY FULL;"
}

// SetRecoveryFull switches db to the FULL recovery model. ALTER DATABASE takes no
// variable for the name, so db is checked (ValidateDatabaseName) and bracket-quoted.
func (c *Conn) SetRecoveryFull(ctx context.Context, db string) error {
	if err := ValidateDatabaseName(db); err != nil {
		return err
	}
	if _, err := c.DB.ExecContext(ctx, StatementRecoveryFull(db)); err != nil {
		return fmt.Errorf("set the recovery model of %s to FULL: %w", db, err)
	}
	return nil
}

// StatementBackup is how BackupDatabase's statement is shown: BACKUP DATABASE with
// the values in place (the statement itself takes them as variables).
func StatementBackup(db, path string) string {
	return fmt.Sprintf("BACKUP DATABASE %s TO DISK = N'%s';", QuoteIdentifier(db), strings.ReplaceAll(path, "'", "''"))
}

// BackupDatabase takes a full backup of db to the file path on the SQL Server host: a
// backup that is not COPY_ONLY starts the log chain the link needs. Both values are
// variables of the statement (BACKUP DATABASE { database_name | @database_name_var }
// TO DISK = { 'name' | @var }: https://learn.microsoft.com/sql/t-sql/statements/backup-transact-sql).
// A path the service cannot write is SQL Server's Msg 3201 (then 3013).
func (c *Conn) BackupDatabase(ctx context.Context, db, path string) error {
	if err := ValidateDatabaseName(db); err != nil {
		return err
	}
	if _, err := c.DB.ExecContext(ctx, "BACKUP DATABASE @db TO DISK = @path", sql.Named("db", db), sql.Named("path", path)); err != nil {
		return fmt.Errorf("back up %s to %s: %w", db, path, err)
	}
	return nil
}

// PathState is what xp_fileexist says about a path on the SQL Server host, as the
// service account sees it.
type PathState struct {
	Exists, IsDirectory, ParentExists bool
}

// FileExists asks SQL Server's service whether path exists (master.dbo.xp_fileexist,
// an undocumented extended procedure present in every version; it needs sysadmin).
// It tells existence, not write permission: a directory the service cannot write
// fails at BACKUP with Msg 3201.
func (c *Conn) FileExists(ctx context.Context, path string) (PathState, error) {
	var st PathState
	var f, d, p int
	if err := c.DB.QueryRowContext(ctx, "EXEC master.dbo.xp_fileexist @path", sql.Named("path", path)).Scan(&f, &d, &p); err != nil {
		return st, fmt.Errorf("ask SQL Server whether %s exists: %w", path, err)
	}
	return PathState{Exists: f == 1, IsDirectory: d == 1, ParentExists: p == 1}, nil
}

// DataSizesKB returns each user database's allocated data file size in KB, an upper
// bound of its full backup's size.
func (c *Conn) DataSizesKB(ctx context.Context) (map[string]int64, error) {
	rows, err := c.DB.QueryContext(ctx, Query(TagDataSizes))
	if err != nil {
		return nil, fmt.Errorf("read the databases' sizes: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var kb int64
		if err := rows.Scan(&name, &kb); err != nil {
			return nil, fmt.Errorf("read the databases' sizes: %w", err)
		}
		out[name] = kb
	}
	return out, rows.Err()
}

// UserSessions counts the user sessions other than this connection's: those a restart
// of SQL Server would cut. Without VIEW SERVER STATE the count is of this login's own.
func (c *Conn) UserSessions(ctx context.Context) (int, error) {
	var n int
	if err := c.DB.QueryRowContext(ctx, Query(TagUserSessions)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the open sessions: %w", err)
	}
	return n, nil
}

// StatementTraceOn turns trace flag flag on globally until the next restart
// (https://learn.microsoft.com/sql/t-sql/database-console-commands/dbcc-traceon-transact-sql).
func StatementTraceOn(flag int) string { return fmt.Sprintf("DBCC TRACEON(%d, -1);", flag) }

// TraceOn runs StatementTraceOn(flag).
func (c *Conn) TraceOn(ctx context.Context, flag int) error {
	if _, err := c.DB.ExecContext(ctx, StatementTraceOn(flag)); err != nil {
		return fmt.Errorf("turn trace flag %d on: %w", flag, err)
	}
	return nil
}

// AgentXPsStatements are the statements EnableAgentXPs runs when 'show advanced
// options' is off (advanced) or on: 'Agent XPs' is an advanced option, so sp_configure
// does not see it (Msg 15123) until 'show advanced options' is 1
// (https://learn.microsoft.com/sql/database-engine/configure-windows/agent-xps-server-configuration-option,
// https://learn.microsoft.com/sql/relational-databases/system-stored-procedures/sp-configure-transact-sql).
// The first form turns 'show advanced options' back off.
func AgentXPsStatements(advancedShown bool) []string {
	s := []string{"EXEC sp_configure 'Agent XPs', 1;", "RECONFIGURE;"}
	if advancedShown {
		return s
	}
	return append(append([]string{"EXEC sp_configure 'show advanced options', 1;", "RECONFIGURE;"}, s...),
		"EXEC sp_configure 'show advanced options', 0;", "RECONFIGURE;")
}

// AdvancedOptionsShown reports whether 'show advanced options' is in use.
func (c *Conn) AdvancedOptionsShown(ctx context.Context) (bool, error) {
	var v sql.NullInt64
	if err := c.DB.QueryRowContext(ctx, Query(TagShowAdvanced)).Scan(&v); err != nil {
		return false, fmt.Errorf("read 'show advanced options': %w", err)
	}
	return v.Int64 == 1, nil
}

// EnableAgentXPs runs AgentXPsStatements one by one; on an error it stops there and
// says which statement failed.
func (c *Conn) EnableAgentXPs(ctx context.Context, advancedShown bool) error {
	for _, s := range AgentXPsStatements(advancedShown) {
		if _, err := c.DB.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// DefaultBackupPath is SQL Server's default backup directory
// (SERVERPROPERTY('InstanceDefaultBackupPath'), SQL Server 2019 and later), without a
// trailing separator; "" when the version does not have the property.
func (c *Conn) DefaultBackupPath(ctx context.Context) (string, error) {
	var p sql.NullString
	if err := c.DB.QueryRowContext(ctx, Query(TagBackupPath)).Scan(&p); err != nil {
		return "", fmt.Errorf("read the default backup directory: %w", err)
	}
	dir := strings.TrimSpace(p.String)
	if len(dir) > 1 && !strings.HasSuffix(dir, `:\`) {
		dir = strings.TrimRight(dir, `/\`)
	}
	return dir, nil
}

// ValidateBackupDir checks a backup directory given by the user for the SQL Server
// host's platform ("Linux" or "Windows"): an absolute path (/… on Linux; X:\… or
// \\server\share\… on Windows), at most 200 characters, no control characters.
// The path travels as a parameter; the check keeps the shown statements readable.
func ValidateBackupDir(dir, platform string) error {
	switch {
	case dir == "":
		return fmt.Errorf("%w: the backup directory is empty", ErrInvalidInput)
	case !utf8.ValidString(dir):
		return fmt.Errorf("%w: the backup directory is not valid UTF-8", ErrInvalidInput)
	case utf8.RuneCountInString(dir) > 200:
		return fmt.Errorf("%w: the backup directory is longer than 200 characters", ErrInvalidInput)
	}
	for _, r := range dir {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: the backup directory %q contains a control character", ErrInvalidInput, dir)
		}
	}
	if strings.EqualFold(platform, "Linux") {
		if !strings.HasPrefix(dir, "/") {
			return fmt.Errorf(`%w: the backup directory "%s" is not an absolute path on the Linux host (it starts with /)`, ErrInvalidInput, dir)
		}
		return nil
	}
	drive := len(dir) >= 3 && (dir[0]|0x20) >= 'a' && (dir[0]|0x20) <= 'z' && dir[1] == ':' && dir[2] == '\\'
	if !drive && !strings.HasPrefix(dir, `\\`) {
		return fmt.Errorf(`%w: the backup directory "%s" is not an absolute Windows path (X:\… or \\server\share\…)`, ErrInvalidInput, dir)
	}
	return nil
}

// BackupFile is the file in dir that milink backs db up to: the database name with
// every character but letters, digits, '-' and '_' replaced by '_', then _full.bak,
// joined with the platform's separator.
func BackupFile(dir, db, platform string) string {
	var b strings.Builder
	for _, r := range db {
		if r < 0x80 && (r == '-' || r == '_' || (r >= '0' && r <= '9') || ((r|0x20) >= 'a' && (r|0x20) <= 'z')) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	sep := `\`
	if strings.EqualFold(platform, "Linux") {
		sep = "/"
	}
	return strings.TrimRight(dir, sep) + sep + b.String() + "_full.bak"
}
