package catalog

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// byName indexes objects by lower-case name; several objects may share a name (the
// same name in two databases or schemas).
var byName map[string][]int

func init() {
	for _, area := range [][]Object{sysViews, dmvs, msdbObjects, procedures, functions} {
		objects = append(objects, area...)
	}
	byName = make(map[string][]int, len(objects))
	for i, o := range objects {
		k := strings.ToLower(o.Name)
		byName[k] = append(byName[k], i)
	}
}

// lookup is Personality.Lookup.
func lookup(p Personality, database, schema, name string) (Object, bool) {
	for _, i := range byName[strings.ToLower(name)] {
		o := objects[i]
		if !o.inDatabase(database) || !o.inSchema(schema) || !o.Avail.Has(p) {
			continue
		}
		return o, true
	}
	return Object{}, false
}

// inDatabase reports whether o is visible in database db ("" matches every one).
func (o Object) inDatabase(db string) bool {
	return db == "" || o.Database == "" || strings.EqualFold(o.Database, db)
}

// inSchema reports whether o is found under schema s ("" is dbo). System procedures
// (sys.sp_*, sys.xp_*) are also found under dbo and with no schema: SQL Server looks
// a name starting with sp_ up in master's sys schema
// (https://learn.microsoft.com/sql/relational-databases/system-stored-procedures/system-stored-procedures-transact-sql).
func (o Object) inSchema(s string) bool {
	if o.Schema == "" { // a built-in function: no schema
		return s == ""
	}
	if s == "" {
		s = "dbo"
	}
	if strings.EqualFold(o.Schema, s) {
		return true
	}
	if o.Kind == Procedure && strings.EqualFold(o.Schema, "sys") && strings.EqualFold(s, "dbo") {
		n := strings.ToLower(o.Name)
		return strings.HasPrefix(n, "sp_") || strings.HasPrefix(n, "xp_")
	}
	return false
}

// Column returns o's column called name (case-insensitive); ok is false when o has
// none (the caller raises Msg 207 "Invalid column name").
func (o Object) Column(name string) (Column, bool) {
	for _, c := range o.Columns {
		if strings.EqualFold(c.Name, name) {
			return c, true
		}
	}
	return Column{}, false
}

// Param returns o's parameter called name, with or without its "@", case-insensitively.
func (o Object) Param(name string) (Param, bool) {
	if !strings.HasPrefix(name, "@") {
		name = "@" + name
	}
	for _, p := range o.Params {
		if strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return Param{}, false
}

// FullName is o's three-part name as SQL Server prints it in messages, e.g.
// "msdb.dbo.sp_add_job" or "sys.dm_os_host_info" (no database part for sys objects).
func (o Object) FullName() string {
	if o.Schema == "" {
		return o.Name
	}
	if o.Database == "" {
		return o.Schema + "." + o.Name
	}
	return o.Database + "." + o.Schema + "." + o.Name
}

// ParsePlatform parses a platform name case-insensitively ("windows", "Linux");
// "" is Windows.
func ParsePlatform(s string) (Platform, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "windows":
		return Windows, nil
	case "linux":
		return Linux, nil
	}
	return "", fmt.Errorf("catalog: unknown platform %q (want Windows or Linux)", s)
}

// FindPersonality returns the personality for a SQL Server build on a platform, or the
// managed instance when mi is true (version and platform are then ignored unless
// version names another build, which is an error).
//
// version is a full build ("13.0.7000.253"), a major version ("16"), or a product year
// ("2022"). A full build equal to a built-in personality's returns that personality;
// any other build of a known major (e.g. "16.0.1000.6", 2022 RTM) returns the built-in
// personality of that major with ProductVersion, ProductLevel, UpdateLevel and
// VersionText rewritten for that build, so tests can simulate older or newer builds.
// "" is the newest default, 2022 (CU14). Errors: an unparsable version, a major the
// catalog has no personality for (2014 and older, 2028...), or 2016 on Linux
// (SQL Server 2016 has no Linux edition:
// https://learn.microsoft.com/sql/linux/sql-server-linux-release-notes-2017).
func FindPersonality(version string, platform Platform, mi bool) (Personality, error) {
	if platform == "" {
		platform = Windows
	}
	if platform != Windows && platform != Linux {
		return Personality{}, fmt.Errorf("catalog: unknown platform %q (want Windows or Linux)", platform)
	}
	if mi {
		m := personalities[len(personalities)-1]
		if version != "" && version != m.ProductVersion {
			return Personality{}, fmt.Errorf("catalog: the managed instance reports version %s, not %s", m.ProductVersion, version)
		}
		return m, nil
	}
	if version == "" {
		version = DefaultVersion
	}
	major, build, err := parseVersion(version)
	if err != nil {
		return Personality{}, err
	}
	var base *Personality
	for i := range personalities {
		p := &personalities[i]
		if p.MI || p.Major != major || p.Platform != platform {
			continue
		}
		if build == "" || p.ProductVersion == build {
			return *p, nil
		}
		if base == nil {
			base = p
		}
	}
	if base == nil {
		if major == 13 && platform == Linux {
			return Personality{}, fmt.Errorf("catalog: SQL Server 2016 (13.x) has no Linux edition")
		}
		return Personality{}, fmt.Errorf("catalog: no personality for SQL Server %s on %s (known: 13.x-17.x)", version, platform)
	}
	return base.withBuild(build), nil
}

// DefaultVersion is the build FindPersonality uses when none is given: SQL Server
// 2022 CU14 (https://learn.microsoft.com/troubleshoot/sql/releases/sqlserver-2022/cumulativeupdate14).
const DefaultVersion = "16.0.4135.4"

// years maps product years to major versions
// (https://learn.microsoft.com/troubleshoot/sql/releases/download-and-install-latest-updates).
var years = map[string]int{"2016": 13, "2017": 14, "2019": 15, "2022": 16, "2025": 17}

// parseVersion reads "13.0.7000.253", "16" or "2022" into a major version and, for a
// full build, the normalised build text.
func parseVersion(v string) (major int, build string, err error) {
	v = strings.TrimSpace(v)
	if m, ok := years[v]; ok {
		return m, "", nil
	}
	parts := strings.Split(v, ".")
	nums := make([]int, len(parts))
	for i, s := range parts {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, "", fmt.Errorf("catalog: version %q is not a build like 16.0.4135.4, a major like 16, or a year like 2022", v)
		}
		nums[i] = n
	}
	switch len(nums) {
	case 1:
		return nums[0], "", nil
	case 4:
		return nums[0], fmt.Sprintf("%d.%d.%d.%d", nums[0], nums[1], nums[2], nums[3]), nil
	}
	return 0, "", fmt.Errorf("catalog: version %q is not a build like 16.0.4135.4, a major like 16, or a year like 2022", v)
}

// compareBuilds compares two dotted builds numerically ("13.0.6300.2" < "13.0.7000.253");
// a part that is not a number counts as 0.
func compareBuilds(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// ColumnsOn returns o's columns as personality p has them (columns added in a later
// major version are left out on older ones).
func (o Object) ColumnsOn(p Personality) []Column {
	out := make([]Column, 0, len(o.Columns))
	for _, c := range o.Columns {
		if c.On(p) {
			out = append(out, c)
		}
	}
	return out
}

// ColumnOn is Column restricted to the columns personality p has: a column added in a
// later version is "Invalid column name" (Msg 207) on an older one.
func (o Object) ColumnOn(p Personality, name string) (Column, bool) {
	c, ok := o.Column(name)
	if !ok || !c.On(p) {
		return Column{}, false
	}
	return c, true
}

// On reports whether personality p has column c.
func (c Column) On(p Personality) bool { return p.MI || c.MinMajor == 0 || p.Major >= c.MinMajor }

// Objects returns the objects personality p has, in catalog order (what its
// sys.all_objects lists, together with the functions, which it does not).
func (p Personality) Objects() []Object {
	var out []Object
	for _, o := range objects {
		if o.Avail.Has(p) {
			out = append(out, o)
		}
	}
	return out
}

// TypeCode is the sys.objects / sys.all_objects type of o: "V" for catalog views and
// DMVs (system views), "U" for msdb's tables, "P" for stored procedures, "X" for
// extended stored procedures (xp_*), "FN" for functions
// (https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-objects-transact-sql,
// column type).
func (o Object) TypeCode() string {
	switch o.Kind {
	case View, DMV:
		return "V"
	case Table:
		return "U"
	case Procedure:
		if strings.HasPrefix(strings.ToLower(o.Name), "xp_") {
			return "X"
		}
		return "P"
	}
	return "FN"
}

// TypeDesc is sys.objects.type_desc for TypeCode.
func (o Object) TypeDesc() string {
	switch o.TypeCode() {
	case "V":
		return "VIEW"
	case "U":
		return "USER_TABLE"
	case "P":
		return "SQL_STORED_PROCEDURE"
	case "X":
		return "EXTENDED_STORED_PROCEDURE"
	}
	return "SQL_SCALAR_FUNCTION"
}

// ObjectID is a stable object_id for o: negative for the sys schema's objects (as SQL
// Server numbers its system objects), positive for msdb's. The numbers are the
// simulator's own: SQL Server's real ids are not documented.
func (o Object) ObjectID() int32 {
	f := fnv.New32a()
	_, _ = f.Write([]byte(strings.ToLower(o.Database + "." + o.Schema + "." + o.Name)))
	id := int32(f.Sum32()&0x3fffffff) + 1
	if strings.EqualFold(o.Schema, "sys") || o.Schema == "" {
		return -id
	}
	return id
}
