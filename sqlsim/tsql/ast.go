package tsql

// Stmt is one T-SQL statement; StmtLine is the line of the batch it starts on.
type Stmt interface{ StmtLine() int }

// Expr is a scalar expression.
type Expr interface{ expr() }

// Pos carries the line a statement starts on (1-based, within its batch).
type Pos struct{ Line int }

// StmtLine returns the 1-based line the statement starts on.
func (p Pos) StmtLine() int { return p.Line }

// Name is a possibly qualified object name, e.g. msdb.dbo.sysjobs or master..x; an
// omitted part is "".
type Name struct{ Server, Database, Schema, Object string }

// String renders the name as written, without brackets.
func (n Name) String() string {
	s := n.Object
	if n.Schema != "" || n.Database != "" {
		s = n.Schema + "." + s
	}
	if n.Database != "" {
		s = n.Database + "." + s
	}
	return s
}

// ---- expressions ----

// Literal is a constant: nil (NULL), int64, float64, string or []byte. Unicode says an
// N'…' literal; Decimal says a number written with a point.
type Literal struct {
	Value   any
	Unicode bool
	Decimal bool
}

// ColumnRef names a column, optionally qualified by a table alias (Parts ≥ 1).
type ColumnRef struct{ Parts []string }

// VarRef is @name (Name without the @).
type VarRef struct{ Name string }

// SysVarRef is @@name (Name upper-cased, without the @@).
type SysVarRef struct{ Name string }

// Unary is -x, +x, ~x or NOT x (Op "-", "+", "~", "NOT").
type Unary struct {
	Op string
	X  Expr
}

// Binary is x op y: arithmetic (+ - * / %), comparison (= <> < > <= >=), AND, OR.
type Binary struct {
	Op   string
	L, R Expr
}

// Call is a function call; Star is COUNT(*), Distinct is COUNT(DISTINCT x). Name is
// upper-cased; Schema is set for schema-qualified calls (dbo.f()).
type Call struct {
	Name     string
	Schema   string
	Args     []Expr
	Star     bool
	Distinct bool
}

// When is one WHEN … THEN … of a CASE.
type When struct{ Cond, Result Expr }

// Case is CASE [Operand] WHEN … THEN … [ELSE …] END.
type Case struct {
	Operand Expr
	Whens   []When
	Else    Expr
}

// Type is a T-SQL data type: Name lower-cased ("nvarchar", "int"), Len -1 for (max),
// 0 when not given.
type Type struct {
	Name       string
	Len, Scale int
}

// Cast is CAST(x AS t), CONVERT(t, x [, style]) or TRY_CAST/TRY_CONVERT (Try).
type Cast struct {
	X     Expr
	To    Type
	Style Expr
	Try   bool
}

// Subquery is a scalar subquery (SELECT …).
type Subquery struct{ Q Query }

// Exists is [NOT] EXISTS (SELECT …).
type Exists struct {
	Q   Query
	Not bool
}

// In is x [NOT] IN (list) or x [NOT] IN (SELECT …).
type In struct {
	X    Expr
	List []Expr
	Q    Query
	Not  bool
}

// Between is x [NOT] BETWEEN lo AND hi.
type Between struct {
	X, Lo, Hi Expr
	Not       bool
}

// Like is x [NOT] LIKE pattern [ESCAPE e].
type Like struct {
	X, Pattern, Escape Expr
	Not                bool
}

// IsNull is x IS [NOT] NULL.
type IsNull struct {
	X   Expr
	Not bool
}

func (*Literal) expr()   {}
func (*ColumnRef) expr() {}
func (*VarRef) expr()    {}
func (*SysVarRef) expr() {}
func (*Unary) expr()     {}
func (*Binary) expr()    {}
func (*Call) expr()      {}
func (*Case) expr()      {}
func (*Cast) expr()      {}
func (*Subquery) expr()  {}
func (*Exists) expr()    {}
func (*In) expr()        {}
func (*Between) expr()   {}
func (*Like) expr()      {}
func (*IsNull) expr()    {}

// ---- queries ----

// Query is a SELECT, or a UNION of queries.
type Query interface{ query() }

// SelectItem is one item of a select list: an expression with an optional alias, a *
// or alias.* (Star, Qualifier), or an assignment @v = expr (Var).
type SelectItem struct {
	X         Expr
	Alias     string
	Star      bool
	Qualifier string
	Var       string
}

// OrderItem is one ORDER BY key.
type OrderItem struct {
	X    Expr
	Desc bool
}

// Select is one SELECT … FROM … WHERE … GROUP BY … HAVING … ORDER BY.
type Select struct {
	Distinct bool
	Top      Expr
	Items    []SelectItem
	From     []TableRef // comma-separated; a cross join
	Where    Expr
	GroupBy  []Expr
	Having   Expr
	OrderBy  []OrderItem
}

// Union is Left UNION [ALL] Right, with an ORDER BY applying to the whole.
type Union struct {
	Left, Right Query
	All         bool
	OrderBy     []OrderItem
}

func (*Select) query() {}
func (*Union) query()  {}

// TableRef is an item of a FROM clause.
type TableRef interface{ tableRef() }

// TableName is a named table or view, with arguments when it is a table-valued
// function call (Args non-nil).
type TableName struct {
	Name  Name
	Alias string
	Args  []Expr
}

// Derived is (SELECT …) alias.
type Derived struct {
	Q     Query
	Alias string
}

// Join is Left kind JOIN Right ON cond (Kind "INNER", "LEFT", "RIGHT", "FULL", "CROSS").
type Join struct {
	Left, Right TableRef
	Kind        string
	On          Expr
}

func (*TableName) tableRef() {}
func (*Derived) tableRef()   {}
func (*Join) tableRef()      {}

// ---- statements ----

// SelectStmt is a SELECT statement (a query, or variable assignments).
type SelectStmt struct {
	Pos
	Q Query
}

// VarDecl is one variable of a DECLARE.
type VarDecl struct {
	Name string // without @
	Type Type
	Init Expr
}

// Declare is DECLARE @a type [= x], ….
type Declare struct {
	Pos
	Vars []VarDecl
}

// SetVar is SET @v = x (Op "=", or "+=" etc.).
type SetVar struct {
	Pos
	Name string
	Op   string
	X    Expr
}

// SetOption is SET NOCOUNT ON and the other session options (accepted, recorded).
type SetOption struct {
	Pos
	Words []string
}

// If is IF cond stmt [ELSE stmt].
type If struct {
	Pos
	Cond Expr
	Then Stmt
	Else Stmt
}

// While is WHILE cond stmt.
type While struct {
	Pos
	Cond Expr
	Body Stmt
}

// Block is BEGIN … END.
type Block struct {
	Pos
	Body []Stmt
}

// Break is BREAK.
type Break struct{ Pos }

// Continue is CONTINUE.
type Continue struct{ Pos }

// Return is RETURN [x].
type Return struct {
	Pos
	X Expr
}

// WaitFor is WAITFOR DELAY x (or TIME x).
type WaitFor struct {
	Pos
	Delay Expr
	Time  bool
}

// ExecArg is one argument of an EXEC: [@name =] value [OUTPUT]; Default for DEFAULT.
type ExecArg struct {
	Name    string // without @, "" for positional
	X       Expr
	Output  bool
	Default bool
}

// Exec is EXEC [@rc =] proc args, or EXEC (string) (Dynamic).
type Exec struct {
	Pos
	Ret     string // variable receiving the return status, without @
	Proc    Name
	ProcVar string // EXEC @procname
	Args    []ExecArg
	Dynamic Expr
}

// Throw is THROW num, msg, state (or a bare THROW inside CATCH: Num nil).
type Throw struct {
	Pos
	Num, Msg, State Expr
}

// Raiserror is RAISERROR(msg, severity, state [, args…]) [WITH …].
type Raiserror struct {
	Pos
	Msg, Severity, State Expr
	Args                 []Expr
	With                 []string
}

// Print is PRINT x.
type Print struct {
	Pos
	X Expr
}

// ProcParam is a parameter of CREATE PROCEDURE.
type ProcParam struct {
	Name    string // without @
	Type    Type
	Default Expr
	Output  bool
}

// CreateProc is CREATE [OR ALTER] PROC[EDURE] name params AS body. Source is the text.
type CreateProc struct {
	Pos
	Name    Name
	Params  []ProcParam
	Body    []Stmt
	OrAlter bool
	Alter   bool
}

// Use is USE db.
type Use struct {
	Pos
	DB string
}

// Tran is BEGIN/COMMIT/ROLLBACK/SAVE TRAN[SACTION] (Op "BEGIN", "COMMIT", "ROLLBACK", "SAVE").
type Tran struct {
	Pos
	Op string
}

// TryCatch is BEGIN TRY … END TRY BEGIN CATCH … END CATCH.
type TryCatch struct {
	Pos
	Try, Catch []Stmt
}

// Drop is DROP kind [IF EXISTS] name (Kind "PROCEDURE", "DATABASE", "ENDPOINT",
// "CERTIFICATE", "LOGIN", "USER", "MASTER KEY", "TABLE").
type Drop struct {
	Pos
	Kind     string
	Name     Name
	IfExists bool
}

// CreateDatabase is CREATE DATABASE name.
type CreateDatabase struct {
	Pos
	Name string
}

// AlterDatabase is ALTER DATABASE name SET option value (e.g. RECOVERY FULL,
// ENCRYPTION ON), or one of the file and filegroup options
// (alter-database-transact-sql-file-and-filegroup-options): Option "ADD FILEGROUP"
// with Filegroup and Contains (FILESTREAM, MEMORY_OPTIMIZED_DATA or ""), or Option
// "ADD FILE" with Files and Filegroup (the TO FILEGROUP target, "" for PRIMARY).
type AlterDatabase struct {
	Pos
	Name      string
	Option    string
	Value     string
	Filegroup string
	Contains  string
	Files     []FileSpec
}

// FileSpec is one <filespec> of ALTER DATABASE … ADD FILE: (NAME = …, FILENAME = …, …).
type FileSpec struct {
	Name, FileName string
}

// CreateDatabaseKey is CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = …
// ENCRYPTION BY SERVER CERTIFICATE name (create-database-encryption-key-transact-sql).
type CreateDatabaseKey struct {
	Pos
	Algorithm   string
	Certificate string
}

// Backup is BACKUP DATABASE|LOG name TO DISK = 'file' [WITH options]; the name may
// be a variable (DBVar: BACKUP DATABASE @database_name_var, backup-transact-sql).
type Backup struct {
	Pos
	Log      bool
	DB       string
	DBVar    Expr // the name's variable, or nil when DB names the database
	URL      bool // TO URL = … rather than TO DISK = …
	Disk     Expr
	CopyOnly bool
	With     []string
}

// Endpoint is CREATE or ALTER ENDPOINT. Fields not given are "" / 0.
type Endpoint struct {
	Pos
	Alter       bool
	Name        string
	State       string
	Port        int
	Protocol    string // DATABASE_MIRRORING, TSQL, …
	Role        string
	Auth        string // CERTIFICATE, WINDOWS, …
	CertName    string
	Encryption  string // REQUIRED, SUPPORTED, DISABLED
	Algorithm   string // AES, RC4, …
	HasAsClause bool
}

// CreateCertificate is CREATE CERTIFICATE name [ENCRYPTION BY PASSWORD = '…'] WITH
// SUBJECT = '…' [, START_DATE = '…'] [, EXPIRY_DATE = '…'].
type CreateCertificate struct {
	Pos
	Name, Subject, Password, StartDate, ExpiryDate string
}

// CreateMasterKey is CREATE MASTER KEY [ENCRYPTION BY PASSWORD = '…'].
type CreateMasterKey struct {
	Pos
	Password string
}

// CreateLogin is CREATE LOGIN name WITH PASSWORD = '…' [, options] (or FROM …;
// Windows: FROM WINDOWS, a Windows login).
type CreateLogin struct {
	Pos
	Name, Password string
	Windows        bool
}

// CreateUser is CREATE USER name [FOR|FROM LOGIN login | WITHOUT LOGIN].
type CreateUser struct {
	Pos
	Name, Login string
}

// AlterRole is ALTER SERVER ROLE role ADD|DROP MEMBER m (Server) or ALTER ROLE … .
type AlterRole struct {
	Pos
	Server bool
	Role   string
	Add    bool
	Member string
}

// Grant is GRANT|DENY|REVOKE permission [ON [class::]object] TO|FROM principal.
type Grant struct {
	Pos
	Verb       string // GRANT, DENY, REVOKE
	Permission string // upper-case, e.g. "VIEW SERVER STATE", "EXECUTE"
	On         Name
	OnClass    string
	To         []string
}

// Dbcc is DBCC command [(args)] [WITH options].
type Dbcc struct {
	Pos
	Command string // upper-case
	Args    []Expr
	With    []string
}

// Reconfigure is RECONFIGURE [WITH OVERRIDE].
type Reconfigure struct {
	Pos
	Override bool
}

// Unsupported is a statement the front end recognised but the simulator does not
// model (kept so a batch still parses); Text names it.
type Unsupported struct {
	Pos
	Text string
}
