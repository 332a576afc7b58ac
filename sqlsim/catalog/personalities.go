package catalog

import "fmt"

// Build lists and servicing labels:
// https://learn.microsoft.com/troubleshoot/sql/releases/download-and-install-latest-updates
// and each version's build-versions page. Minimum builds for the link:
// https://learn.microsoft.com/azure/azure-sql/managed-instance/managed-instance-link-feature-overview#prerequisites
// (also ../shared/FACTS.md, "Link version support").
//
// The @@VERSION layout (product line with servicing label and KB, build date, copyright,
// "<edition> on <host> <X64>") follows the ERRORLOG/@@VERSION sample of
// https://learn.microsoft.com/troubleshoot/sql/database-engine/install/windows/find-my-sql-version
// ("Microsoft SQL Server 2022 (RTM-CU14) (KB5038325) - 16.0.4135.4 (X64) Jul 10 2024
// 14:09:09 Copyright (C) 2022 Microsoft Corporation Developer Edition (64-bit) on
// Windows ... <X64> (Build 22631: ) (Hypervisor)"). On Linux the host part reads
// "on Linux (Ubuntu 22.04.4 LTS) <X64>"
// (https://learn.microsoft.com/sql/linux/quickstart-install-connect-ubuntu, "SELECT @@VERSION").

// edition is SERVERPROPERTY('Edition') for every box personality, with EngineEdition 3
// (https://learn.microsoft.com/sql/t-sql/functions/serverproperty-transact-sql).
const (
	edition       = "Enterprise Edition: Core-based Licensing (64-bit)"
	editionID     = 1872460670 // EditionID of "Enterprise Edition: Core-based Licensing"
	engineEntBox  = 3
	windowsHost   = "Windows Server 2022 Datacenter"
	windowsHost16 = "Windows Server 2019 Datacenter"
	windowsRel    = "10.0"
	// On Linux sys.dm_os_host_info says "Ubuntu" / "22.04" while @@VERSION names the
	// full release ("on Linux (Ubuntu 22.04.4 LTS)").
	linuxHost        = "Ubuntu"
	linuxRel         = "22.04"
	linuxVersionHost = "Ubuntu 22.04.4 LTS"
)

// build is one servicing build of SQL Server.
type build struct {
	major   int
	version string // ProductVersion
	level   string // ProductLevel
	update  string // ProductUpdateLevel ("" when none)
	label   string // servicing label in @@VERSION, e.g. "RTM-CU14"
	kb      string // KB in @@VERSION, e.g. "KB5038325"; "" for none
	date    string // build date line of @@VERSION
	name    string
	source  string
	linux   bool // the build exists on Linux too
}

// builds are the box builds the simulator offers, oldest first.
var builds = []build{
	{
		// SQL Server 2016 SP3 + Azure Connect feature pack, KB5014242, May 2022; Windows
		// only. The build date line is not printed on the page: modelled on the release
		// date. The servicing label is that of SP3's own @@VERSION ("Microsoft SQL Server
		// 2016 (SP3) (KB5003279) - 13.0.6300.2 (X64) Aug  7 2021 ... Copyright (c)
		// Microsoft Corporation"); the pack's exact label was not found in a source.
		major: 13, version: "13.0.7000.253", level: "SP3", update: "", label: "SP3", kb: "KB5014242",
		date: "May 19 2022 00:00:00", name: "SQL Server 2016 SP3 + Azure Connect pack",
		source: "https://learn.microsoft.com/troubleshoot/sql/releases/sqlserver-2016/servicepack3-azureconnect",
	},
	{
		// SQL Server 2017 Azure Connect feature pack (on CU31), KB5050533, 6 March 2025,
		// Windows and Linux. Build date line modelled on the release date; the label is
		// that of the CU31 security builds ("(RTM-CU31-GDR) (KB5046858) - 14.0.3485.1").
		major: 14, version: "14.0.3490.10", level: "RTM", update: "CU31", label: "RTM-CU31-GDR", kb: "KB5050533",
		date: "Mar  6 2025 00:00:00", name: "SQL Server 2017 CU31 + Azure Connect pack",
		source: "https://learn.microsoft.com/troubleshoot/sql/releases/sqlserver-2017/azureconnect", linux: true,
	},
	{
		// SQL Server 2019 CU20, KB5024276, 13 April 2023 (the link's minimum for 2019).
		// Build date line modelled on the release date.
		major: 15, version: "15.0.4312.2", level: "RTM", update: "CU20", label: "RTM-CU20", kb: "KB5024276",
		date: "Apr 13 2023 00:00:00", name: "SQL Server 2019 CU20",
		source: "https://learn.microsoft.com/troubleshoot/sql/releases/sqlserver-2019/cumulativeupdate20", linux: true,
	},
	{
		// SQL Server 2022 CU14, KB5038325; build date from the page's ERRORLOG sample.
		major: 16, version: "16.0.4135.4", level: "RTM", update: "CU14", label: "RTM-CU14", kb: "KB5038325",
		date: "Jul 10 2024 14:09:09", name: "SQL Server 2022 CU14",
		source: "https://learn.microsoft.com/troubleshoot/sql/releases/sqlserver-2022/cumulativeupdate14", linux: true,
	},
	{
		// SQL Server 2025 RTM 17.0.1000.7 (build date "Oct 21 2025 12:05:57" as RTM prints it).
		major: 17, version: "17.0.1000.7", level: "RTM", update: "", label: "RTM", kb: "",
		date: "Oct 21 2025 12:05:57", name: "SQL Server 2025 RTM",
		source: "https://learn.microsoft.com/troubleshoot/sql/releases/sqlserver-2025/build-versions", linux: true,
	},
}

// productYear is the product year of a major version.
func productYear(major int) int {
	for y, m := range years {
		if m == major {
			var n int
			fmt.Sscan(y, &n)
			return n
		}
	}
	return 0
}

// productName is "SQL Server <year>".
func productName(major int) string { return fmt.Sprintf("SQL Server %d", productYear(major)) }

// hostLine is what @@VERSION prints after "<edition> on " for a host. SQL Server
// 2017 on Linux prints no "<X64>" after the distribution ("Developer Edition (64-bit)
// on Linux (Ubuntu 16.04.7 LTS)"), later versions do.
func hostLine(major int, platform Platform, distribution string) string {
	if platform == Linux {
		if major == 14 {
			return "Linux (" + linuxVersionHost + ")"
		}
		return "Linux (" + linuxVersionHost + ") <X64>"
	}
	build := "20348" // Windows Server 2022
	if distribution == windowsHost16 {
		build = "17763" // Windows Server 2019
	}
	return distribution + " 10.0 <X64> (Build " + build + ": ) (Hypervisor)"
}

// versionText renders @@VERSION for a box build.
func versionText(major int, label, kb, version, date, ed, host string) string {
	head := fmt.Sprintf("Microsoft SQL Server %d (%s)", productYear(major), label)
	if kb != "" {
		head += " (" + kb + ")"
	}
	copyright := fmt.Sprintf("Copyright (C) %d Microsoft Corporation", productYear(major))
	if major == 13 {
		copyright = "Copyright (c) Microsoft Corporation" // 2016 prints no year
	}
	return fmt.Sprintf("%s - %s (X64) \n\t%s \n\t%s\n\t%s on %s\n", head, version, date, copyright, ed, host)
}

// personality builds the box personality of b on platform pl.
func (b build) personality(pl Platform) Personality {
	dist, rel := windowsHost, windowsRel
	if b.major == 13 {
		dist = windowsHost16
	}
	if pl == Linux {
		dist, rel = linuxHost, linuxRel
	}
	name := b.name
	if pl == Linux {
		name += " on Linux"
	}
	return Personality{
		Name: name, ProductVersion: b.version, Major: b.major, Platform: pl,
		Edition: edition, EditionID: editionID, EngineEdition: engineEntBox,
		ProductLevel: b.level, UpdateLevel: b.update, UpdateReference: b.kb,
		Distribution: dist, HostRelease: rel,
		VersionText: versionText(b.major, b.label, b.kb, b.version, b.date, edition, hostLine(b.major, pl, dist)),
		Source:      b.source,
	}
}

// withBuild returns p rewritten for another build of the same major version. The
// servicing labels of an arbitrary build are not known here, so UpdateLevel becomes ""
// and the @@VERSION label the product level alone; 2017 and later have no service
// packs (ProductLevel "RTM"), 2016 keeps its SP level.
func (p Personality) withBuild(version string) Personality {
	q := p
	q.Name = fmt.Sprintf("%s (build %s)", productName(p.Major), version)
	q.ProductVersion = version
	q.UpdateLevel, q.UpdateReference = "", ""
	date := "Jan  1 2000 00:00:00"
	for _, b := range builds {
		if b.major == p.Major {
			date = b.date
		}
	}
	q.VersionText = versionText(p.Major, q.ProductLevel, "", version, date, p.Edition, hostLine(p.Major, p.Platform, p.Distribution))
	return q
}

// managedInstance is Azure SQL Managed Instance. @@VERSION, Edition and EngineEdition
// are those of "How to programmatically identify a managed instance"
// (https://learn.microsoft.com/azure/azure-sql/managed-instance/sql-managed-instance-paas-overview):
// @@VERSION "Microsoft SQL Azure (RTM) - 12.0.2000.8 ..." (the same as SQL Database;
// it does not mean SQL Server 2014: the instance runs the newest engine), Edition
// "SQL Azure", EngineEdition 8. Major is the engine level of the "SQL Server 2022"
// update policy (https://learn.microsoft.com/azure/azure-sql/managed-instance/update-policy),
// used only for RequiredPermission; Availability.Has decides MI objects by the MI flag.
var managedInstance = Personality{
	Name: "Azure SQL Managed Instance", ProductVersion: "12.0.2000.8", Major: 16, Platform: Windows, MI: true,
	Edition: "SQL Azure", EditionID: 1674378470, EngineEdition: 8, ProductLevel: "RTM", UpdateLevel: "",
	Distribution: windowsHost, HostRelease: windowsRel,
	VersionText: "Microsoft SQL Azure (RTM) - 12.0.2000.8 \n\tOct  1 2025 00:00:00 \n\tCopyright (C) 2025 Microsoft Corporation\n",
	Source:      "https://learn.microsoft.com/azure/azure-sql/managed-instance/sql-managed-instance-paas-overview",
}

func init() {
	for _, b := range builds {
		personalities = append(personalities, b.personality(Windows))
		if b.linux {
			personalities = append(personalities, b.personality(Linux))
		}
	}
	personalities = append(personalities, managedInstance)
}
