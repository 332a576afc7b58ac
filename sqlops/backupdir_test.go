package sqlops

import (
	"strings"
	"testing"
)

// A rejected backup directory is shown as typed, in quotes: a Windows path on a Linux
// host reads "D:\x", not Go's escaped "D:\\x".
func TestValidateBackupDirShowsTheRawValue(t *testing.T) {
	err := ValidateBackupDir(`D:\x`, "Linux")
	if err == nil || !strings.Contains(err.Error(), `the backup directory "D:\x" is not an absolute path`) {
		t.Errorf("Linux, D:\\x: %v", err)
	}
	err = ValidateBackupDir(`backups`, "Windows")
	if err == nil || !strings.Contains(err.Error(), `the backup directory "backups" is not an absolute Windows path`) {
		t.Errorf("Windows, backups: %v", err)
	}
}
