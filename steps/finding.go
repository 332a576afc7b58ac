package steps

// Severity grades a finding.
type Severity string

// Severities, from best to worst.
const (
	Pass Severity = "pass"
	Info Severity = "info"
	Warn Severity = "warn"
	Fail Severity = "fail"
)

// Rank orders severities: higher is worse.
func (s Severity) Rank() int {
	switch s {
	case Pass:
		return 0
	case Info:
		return 1
	case Warn:
		return 2
	case Fail:
		return 3
	}
	return 0
}

// Fix is the exact remedy for one platform.
type Fix struct {
	Platform string `json:"platform"` // "Windows", "Linux", "T-SQL", "Azure"
	Command  string `json:"command"`
}

// Finding is one checked fact, with why it matters and how to fix it.
type Finding struct {
	ID       string   `json:"id"`
	Server   string   `json:"server"` // "SQL Server", "Managed instance", "Network"
	Severity Severity `json:"severity"`
	Title    string   `json:"title"`
	Detail   string   `json:"detail,omitempty"` // what was found and why it matters
	Fixes    []Fix    `json:"fixes,omitempty"`
}

// Worst returns the worst severity among findings (Pass when there are none).
func Worst(fs []Finding) Severity {
	w := Pass
	for _, f := range fs {
		if f.Severity.Rank() > w.Rank() {
			w = f.Severity
		}
	}
	return w
}

// FixFor returns the fix for platform, or the first fix, or the zero Fix.
func (f Finding) FixFor(platform string) Fix {
	for _, x := range f.Fixes {
		if x.Platform == platform {
			return x
		}
	}
	if len(f.Fixes) > 0 {
		return f.Fixes[0]
	}
	return Fix{}
}
