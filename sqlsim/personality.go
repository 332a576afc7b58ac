package sqlsim

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/milink/milink/sqlsim/catalog"
)

// Personalities returns the personalities the simulator can take (package catalog's:
// SQL Server 2016 SP3 + Azure Connect pack … 2025 on Windows and, from 2017, Linux,
// and the managed instance last).
func Personalities() []catalog.Personality { return catalog.Personalities() }

// FindPersonality returns the personality for a version (a build such as
// "13.0.7000.253", a major such as "16" or a year such as "2022"; "" for the
// default), a platform ("Windows" or "Linux", any case; "" means Windows) and whether
// it is a managed instance. It is what milink sim's --sql-version and --sql-platform
// select; errors name what is wrong (2016 on Linux, an unknown major).
func FindPersonality(version, platform string, mi bool) (catalog.Personality, error) {
	var plat catalog.Platform
	switch strings.ToLower(platform) {
	case "", "windows":
		plat = catalog.Windows
	case "linux":
		plat = catalog.Linux
	default:
		return catalog.Personality{}, fmt.Errorf("unknown platform %q (Windows or Linux)", platform)
	}
	return catalog.FindPersonality(version, plat, mi)
}

// personalityFromOptions derives the personality of an instance from its options:
// Options.Personality when set, otherwise the catalog's personality for
// ProductVersion, Platform and Role, keeping the Options' Edition and Distribution (so
// callers that predate personalities keep their meaning).
func personalityFromOptions(o Options) catalog.Personality {
	if o.Personality.ProductVersion != "" {
		return o.Personality
	}
	mi := o.Role == RoleMI
	version := o.ProductVersion
	if mi {
		version = ""
	}
	p, err := FindPersonality(version, o.Platform, mi)
	if err != nil {
		// An unknown build: keep what the options say.
		major, _ := strconv.Atoi(strings.SplitN(o.ProductVersion, ".", 2)[0])
		p = catalog.Personality{Name: "custom", ProductVersion: o.ProductVersion, Major: major, Platform: catalog.Windows,
			Edition: o.Edition, EngineEdition: 3, ProductLevel: "RTM"}
		if strings.EqualFold(o.Platform, "Linux") {
			p.Platform = catalog.Linux
		}
	}
	if !mi && o.Edition != "" && o.Edition != p.Edition {
		if p.VersionText != "" && p.Edition != "" {
			p.VersionText = strings.Replace(p.VersionText, p.Edition, o.Edition, 1)
		}
		p.Edition = o.Edition
	}
	if o.Distribution != "" && o.Distribution != p.Distribution {
		if p.VersionText != "" && p.Distribution != "" {
			p.VersionText = strings.Replace(p.VersionText, p.Distribution, o.Distribution, 1)
		}
		p.Distribution = o.Distribution
	}
	return p
}
