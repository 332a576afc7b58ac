package sqlsim

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/milink/milink/sqlsim/catalog"
)

// builtinPersonalities are used when package catalog has none yet. Versions and
// minimum builds follow Microsoft's link support table
// (https://learn.microsoft.com/azure/azure-sql/managed-instance/managed-instance-link-feature-overview#prerequisites,
// summarised in FACTS.md): 2016 SP3 + Azure Connect pack 13.0.7000.253, 2017 CU31 +
// Azure Connect pack 14.0.3490.10, 2019 CU20 15.0.4312.2, 2022 CU14 16.0.4135.4, 2025
// RTM 17.0.1000.7; the managed instance reports EngineEdition 8
// (https://learn.microsoft.com/sql/t-sql/functions/serverproperty-transact-sql).
var builtinPersonalities = []catalog.Personality{
	{Name: "2016 SP3 + Azure Connect pack", ProductVersion: "13.0.7000.253", Major: 13, Platform: catalog.Windows, Edition: "Enterprise Edition (64-bit)", EngineEdition: 3, ProductLevel: "SP3", Distribution: "Windows Server 2016 Datacenter"},
	{Name: "2017 CU31 + Azure Connect pack", ProductVersion: "14.0.3490.10", Major: 14, Platform: catalog.Windows, Edition: "Enterprise Edition (64-bit)", EngineEdition: 3, ProductLevel: "RTM", UpdateLevel: "CU31", Distribution: "Windows Server 2019 Datacenter"},
	{Name: "2019 CU20", ProductVersion: "15.0.4312.2", Major: 15, Platform: catalog.Windows, Edition: "Enterprise Edition (64-bit)", EngineEdition: 3, ProductLevel: "RTM", UpdateLevel: "CU20", Distribution: "Windows Server 2019 Datacenter"},
	{Name: "2022 CU14", ProductVersion: "16.0.4135.4", Major: 16, Platform: catalog.Windows, Edition: "Enterprise Edition (64-bit)", EngineEdition: 3, ProductLevel: "RTM", UpdateLevel: "CU14", Distribution: "Windows Server 2022 Datacenter"},
	{Name: "2025 RTM", ProductVersion: "17.0.1000.7", Major: 17, Platform: catalog.Windows, Edition: "Enterprise Edition (64-bit)", EngineEdition: 3, ProductLevel: "RTM", Distribution: "Windows Server 2025 Datacenter"},
	{Name: "Azure SQL Managed Instance", ProductVersion: "16.0.9230.25", Major: 16, Platform: catalog.Windows, MI: true, Edition: "SQL Azure", EngineEdition: 8, ProductLevel: "RTM", Distribution: "Windows Server 2022 Datacenter"},
}

// Personalities returns the personalities the simulator can take: package catalog's
// when it has them, otherwise the built-in list (2016 SP3 … 2025 and the managed
// instance; each on Windows, and from 2017 on Linux through FindPersonality).
func Personalities() []catalog.Personality {
	if ps := catalog.Personalities(); len(ps) > 0 {
		return ps
	}
	return append([]catalog.Personality(nil), builtinPersonalities...)
}

// FindPersonality returns the personality for a product version ("13.0.7000.253", or
// just a major such as "16" or a year such as "2022"), a platform ("Windows" or
// "Linux", "" meaning Windows) and whether it is a managed instance. A version not in
// the list is accepted when its major is known: the personality of that major with
// the given version. It fails for 2016 on Linux (SQL Server 2016 runs only on
// Windows) and for unknown majors.
func FindPersonality(version, platform string, mi bool) (catalog.Personality, error) {
	plat := catalog.Windows
	switch strings.ToLower(platform) {
	case "", "windows":
	case "linux":
		plat = catalog.Linux
	default:
		return catalog.Personality{}, fmt.Errorf("unknown platform %q (Windows or Linux)", platform)
	}
	years := map[string]int{"2016": 13, "2017": 14, "2019": 15, "2022": 16, "2025": 17}
	major := 0
	if m, ok := years[version]; ok {
		major, version = m, ""
	} else if version != "" {
		major, _ = strconv.Atoi(strings.SplitN(version, ".", 2)[0])
	}
	var best *catalog.Personality
	for _, p := range Personalities() {
		if p.MI != mi {
			continue
		}
		if mi || p.Major == major || (major == 0 && version == "") {
			if mi || (p.Platform == plat || p.Platform == catalog.Windows) {
				q := p
				if best == nil || q.Platform == plat {
					best = &q
				}
			}
		}
	}
	if best == nil {
		return catalog.Personality{}, fmt.Errorf("no personality for SQL Server version %q", version)
	}
	p := *best
	if !mi && plat == catalog.Linux {
		if p.Major < 14 {
			return catalog.Personality{}, fmt.Errorf("SQL Server %s does not run on Linux (Linux support starts with 2017)", p.ProductVersion)
		}
		if p.Platform != catalog.Linux {
			p.Platform = catalog.Linux
			p.Name += " on Linux"
			p.Distribution = "Ubuntu 22.04.4 LTS"
		}
	}
	if version != "" && version != p.ProductVersion {
		p.ProductVersion = version
	}
	return p, nil
}

// personalityFromOptions derives the personality of an instance from its options:
// Options.Personality when set, otherwise ProductVersion, Platform, Edition,
// Distribution and Role (so callers that predate personalities keep their meaning).
func personalityFromOptions(o Options) catalog.Personality {
	if o.Personality.ProductVersion != "" {
		return o.Personality
	}
	major, _ := strconv.Atoi(strings.SplitN(o.ProductVersion, ".", 2)[0])
	p := catalog.Personality{Name: "custom", ProductVersion: o.ProductVersion, Major: major, Platform: catalog.Windows,
		MI: o.Role == RoleMI, Edition: o.Edition, EngineEdition: 3, ProductLevel: "RTM", Distribution: o.Distribution}
	if strings.EqualFold(o.Platform, "Linux") {
		p.Platform = catalog.Linux
	}
	if p.MI {
		p.EngineEdition = 8
	}
	return p
}
