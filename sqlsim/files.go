package sqlsim

import (
	"fmt"
	"strings"

	"github.com/milink/milink/sqlsim/catalog"
	"github.com/milink/milink/sqlsim/tds"
)

// The SQL Server host's file system as the service account sees it: a set of
// directories, each writable or not (Options.Directories), and the files BACKUP
// wrote. BACKUP TO DISK needs its file's directory to exist and be writable by the
// service account; otherwise SQL Server raises Msg 3201 "Cannot open backup device …
// Operating system error …" and then 3013 (BACKUP: "Backup devices … the SQL Server
// service account must have write permission";
// https://learn.microsoft.com/sql/t-sql/statements/backup-transact-sql and
// https://learn.microsoft.com/sql/relational-databases/errors-events/mssqlserver-3201-database-engine-error).
// A relative file name goes to the default backup directory
// (https://learn.microsoft.com/sql/relational-databases/backup-restore/backup-devices-sql-server).

// defaultBackupDir is the default backup directory of the instance: on Linux
// /var/opt/mssql/data (mssql-conf filelocation.defaultbackupdir:
// https://learn.microsoft.com/sql/linux/sql-server-linux-configure-mssql-conf#backupdir),
// on Windows the instance's MSSQL\Backup folder.
func (in *Instance) defaultBackupDir() string {
	if in.linux() {
		return "/var/opt/mssql/data"
	}
	return fmt.Sprintf(`C:\Program Files\Microsoft SQL Server\MSSQL%d.MSSQLSERVER\MSSQL\Backup`, in.pers.Major)
}

func (in *Instance) linux() bool { return in.pers.Platform == catalog.Linux }

// directories returns the host's directories (Options.Directories, or the defaults).
func (in *Instance) directories() map[string]bool {
	if in.opts.Directories != nil {
		return in.opts.Directories
	}
	data := in.dataPath("")
	return map[string]bool{in.defaultBackupDir(): true, data[:len(data)-1]: true}
}

// sep is the host's path separator.
func (in *Instance) sep() string {
	if in.linux() {
		return "/"
	}
	return `\`
}

// absPath resolves a file name against the default backup directory.
func (in *Instance) absPath(p string) string {
	abs := strings.HasPrefix(p, "/")
	if !in.linux() {
		abs = strings.HasPrefix(p, `\\`) || (len(p) >= 3 && p[1] == ':' && p[2] == '\\')
	}
	if abs {
		return p
	}
	return in.defaultBackupDir() + in.sep() + p
}

// dirState says whether dir is a directory of the host and whether the service may
// write there. Windows paths compare case-insensitively.
func (in *Instance) dirState(dir string) (exists, writable bool) {
	dir = strings.TrimRight(dir, in.sep())
	for d, w := range in.directories() {
		d = strings.TrimRight(d, in.sep())
		if d == dir || (!in.linux() && strings.EqualFold(d, dir)) {
			return true, w
		}
	}
	return false, false
}

// parentDir is the directory part of an absolute path.
func (in *Instance) parentDir(p string) string {
	i := strings.LastIndex(p, in.sep())
	if i <= 0 {
		return in.sep()
	}
	return p[:i]
}

// backupDeviceLocked refuses a BACKUP TO DISK whose file the service cannot create:
// Msg 3201 with the operating system's error (3: the path does not exist; 5: access
// denied), then 3013.
func (in *Instance) backupDeviceLocked(file string, log bool) error {
	p := in.absPath(file)
	exists, writable := in.dirState(in.parentDir(p))
	osErr := ""
	switch {
	case !exists:
		osErr = "Operating system error 3(The system cannot find the path specified.)."
	case !writable:
		osErr = "Operating system error 5(Access is denied.)."
	default:
		return nil
	}
	what := "DATABASE"
	if log {
		what = "LOG"
	}
	return &execError{msgs: []*tds.Error{
		{Number: 3201, State: 1, Class: 16, Message: fmt.Sprintf("Cannot open backup device '%s'. %s", p, osErr)},
		{Number: 3013, State: 1, Class: 16, Message: "BACKUP " + what + " is terminating abnormally."},
	}}
}

// fileStateLocked is xp_fileexist's row for path: whether it is a file BACKUP wrote,
// a directory, and whether its parent directory exists.
func (in *Instance) fileStateLocked(path string) (file, dir, parent bool) {
	p := in.absPath(path)
	for _, b := range in.backups {
		bp := in.absPath(b.device)
		file = file || bp == p || (!in.linux() && strings.EqualFold(bp, p))
	}
	dir, _ = in.dirState(p)
	parent, _ = in.dirState(in.parentDir(p))
	return file, dir, parent
}
