package steps

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a SQL Server build number such as 16.0.4135.4.
type Version [4]int

// ParseVersion parses SERVERPROPERTY('ProductVersion').
func ParseVersion(s string) (Version, error) {
	var v Version
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) < 2 || len(parts) > 4 {
		return v, fmt.Errorf("version %q: want major.minor.build.revision", s)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return v, fmt.Errorf("version %q: part %q is not a number", s, p)
		}
		v[i] = n
	}
	return v, nil
}

// Less reports whether v is an older build than w.
func (v Version) Less(w Version) bool {
	for i := range v {
		if v[i] != w[i] {
			return v[i] < w[i]
		}
	}
	return false
}

// String formats the version.
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d.%d", v[0], v[1], v[2], v[3]) }

func mustVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

// Support says what the link supports on one SQL Server build.
type Support struct {
	Product      string // "SQL Server 2022"
	SQLToMI      bool   // SQL Server as initial primary
	MIToSQL      bool   // managed instance as initial primary
	WindowsOnly  bool
	Reason       string // why not supported, or what is missing
	NeedsUpdate  string // the minimum build to install, when below it
	KnownProduct bool
}

// versionTable is FACTS.md's link support table.
var versionTable = []struct {
	major       int
	product     string
	minSQLToMI  Version
	minMIToSQL  Version // zero: never
	windowsOnly bool
	updateName  string
}{
	{17, "SQL Server 2025", mustVersion("17.0.1000.7"), mustVersion("17.0.1000.7"), false, "RTM"},
	{16, "SQL Server 2022", mustVersion("16.0.1000.6"), mustVersion("16.0.4095.4"), false, "RTM (CU10 16.0.4095.4 for the managed instance as initial primary)"},
	{15, "SQL Server 2019", mustVersion("15.0.4312.2"), Version{}, false, "CU20 (15.0.4312.2)"},
	{14, "SQL Server 2017", mustVersion("14.0.3490.10"), Version{}, false, "CU31 (14.0.3456.2) and the Azure Connect pack (14.0.3490.10)"},
	{13, "SQL Server 2016", mustVersion("13.0.7000.253"), Version{}, true, "SP3 (13.0.6300.2) and the Azure Connect pack (13.0.7000.253)"},
}

// LinkSupport evaluates a build against the link's version table.
func LinkSupport(v Version, platform string) Support {
	for _, row := range versionTable {
		if row.major != v[0] {
			continue
		}
		s := Support{Product: row.product, KnownProduct: true, WindowsOnly: row.windowsOnly}
		if row.windowsOnly && strings.EqualFold(platform, "Linux") {
			s.Reason = row.product + " is supported for the link on Windows only"
			return s
		}
		if v.Less(row.minSQLToMI) {
			s.Reason = fmt.Sprintf("%s needs at least %s for the link; this is %s", row.product, row.updateName, v)
			s.NeedsUpdate = row.minSQLToMI.String()
			return s
		}
		s.SQLToMI = true
		s.MIToSQL = row.minMIToSQL != (Version{}) && !v.Less(row.minMIToSQL)
		if !s.MIToSQL && row.minMIToSQL != (Version{}) {
			s.Reason = fmt.Sprintf("the managed instance as initial primary needs %s or later", row.minMIToSQL)
		} else if row.minMIToSQL == (Version{}) {
			s.Reason = row.product + " supports the link with SQL Server as initial primary only"
		}
		return s
	}
	if v[0] > 17 {
		return Support{Product: fmt.Sprintf("SQL Server (version %d)", v[0]), KnownProduct: false, SQLToMI: true, MIToSQL: true,
			Reason: "newer than the versions milink knows; assumed supported"}
	}
	return Support{Product: fmt.Sprintf("SQL Server (version %d)", v[0]), Reason: "SQL Server 2014 and older are not supported by the link"}
}
