package metadb

import (
	"fmt"
	"strings"
)

// MaxCondition bounds a condition's length in bytes.
const MaxCondition = 4096

// keywords may appear in a condition (case-insensitive).
var keywords = map[string]bool{
	"and": true, "or": true, "not": true, "in": true, "is": true, "null": true,
	"like": true, "glob": true, "between": true, "escape": true, "true": true, "false": true,
	"case": true, "when": true, "then": true, "else": true, "end": true,
	"collate": true, "nocase": true, "binary": true, "rtrim": true,
	"cast": true, "as": true, "integer": true, "real": true, "text": true, "numeric": true,
}

// functions may be called in a condition: pure, cheap, deterministic.
var functions = map[string]bool{
	"abs": true, "coalesce": true, "ifnull": true, "nullif": true, "instr": true, "length": true,
	"lower": true, "upper": true, "substr": true, "substring": true, "trim": true, "ltrim": true, "rtrim": true,
	"round": true, "min": true, "max": true, "typeof": true,
	"json_extract": true, "json_array_length": true, "json_type": true,
}

// statementWords start or extend a statement: never part of a condition.
var statementWords = map[string]bool{
	"select": true, "insert": true, "update": true, "delete": true, "drop": true, "create": true,
	"alter": true, "attach": true, "detach": true, "pragma": true, "vacuum": true, "with": true,
	"union": true, "intersect": true, "except": true, "from": true, "where": true, "order": true,
	"group": true, "having": true, "limit": true, "offset": true, "values": true, "replace": true,
	"exists": true, "returning": true, "begin": true, "commit": true, "rollback": true, "into": true,
	"join": true, "on": true, "using": true, "window": true, "over": true, "analyze": true, "reindex": true,
	"savepoint": true, "release": true, "explain": true, "raise": true, "match": true, "regexp": true,
}

// Validate checks that cond is a single SQL expression over columns (the
// table's column names, matched case-insensitively as SQLite does): string
// and number literals, known columns (bare or "double-quoted"), the
// keywords and functions listed above, operators and balanced parentheses.
// Anything else — ';', comments, parameters (? :a @a $a), [bracketed] or
// `backquoted` names, table-qualified names, statement keywords (SELECT,
// UNION, LIMIT…), unknown columns or functions — is an error wrapping
// ErrBadFilter that names it and its byte offset.
func Validate(cond string, columns []string) error {
	if strings.TrimSpace(cond) == "" {
		return fmt.Errorf("%w: empty condition", ErrBadFilter)
	}
	if len(cond) > MaxCondition {
		return fmt.Errorf("%w: condition of %d bytes, at most %d", ErrBadFilter, len(cond), MaxCondition)
	}
	known := make(map[string]bool, len(columns))
	for _, c := range columns {
		known[strings.ToLower(c)] = true
	}
	bad := func(at int, format string, args ...any) error {
		return fmt.Errorf("%w: %s at byte %d", ErrBadFilter, fmt.Sprintf(format, args...), at)
	}
	depth, operands := 0, 0
	i := 0
	for i < len(cond) {
		c := cond[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == 0:
			return bad(i, "NUL byte")
		case c == ';':
			return bad(i, "';' (one condition only, not statements)")
		case c == '-' && i+1 < len(cond) && cond[i+1] == '-', c == '/' && i+1 < len(cond) && cond[i+1] == '*':
			return bad(i, "comments are not allowed")
		case c == '?' || c == ':' || c == '@' || c == '$' || c == '#':
			return bad(i, "parameter %q not allowed (write the value into the condition)", string(c))
		case c == '[' || c == '`':
			return bad(i, "%q-quoted names are not allowed (quote column names with \")", string(c))
		case c == '\'':
			j := i + 1
			for {
				k := strings.IndexByte(cond[j:], '\'')
				if k < 0 {
					return bad(i, "unterminated string")
				}
				j += k + 1
				if j < len(cond) && cond[j] == '\'' { // '' inside a string
					j++
					continue
				}
				break
			}
			i, operands = j, operands+1
		case c == '"':
			j := i + 1
			var name strings.Builder
			for {
				k := strings.IndexByte(cond[j:], '"')
				if k < 0 {
					return bad(i, "unterminated quoted name")
				}
				name.WriteString(cond[j : j+k])
				j += k + 1
				if j < len(cond) && cond[j] == '"' {
					name.WriteByte('"')
					j++
					continue
				}
				break
			}
			if !known[strings.ToLower(name.String())] {
				return bad(i, "unknown column %q (columns: %s)", name.String(), strings.Join(columns, ", "))
			}
			i, operands = j, operands+1
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(cond) && cond[i+1] >= '0' && cond[i+1] <= '9':
			j := i
			if c == '0' && i+1 < len(cond) && (cond[i+1] == 'x' || cond[i+1] == 'X') {
				j += 2
				for j < len(cond) && isHex(cond[j]) {
					j++
				}
			} else {
				for j < len(cond) && (isDigit(cond[j]) || cond[j] == '.') {
					j++
				}
				if j < len(cond) && (cond[j] == 'e' || cond[j] == 'E') {
					j++
					if j < len(cond) && (cond[j] == '+' || cond[j] == '-') {
						j++
					}
					for j < len(cond) && isDigit(cond[j]) {
						j++
					}
				}
			}
			if j < len(cond) && isIdent(cond[j]) {
				return bad(j, "malformed number %q", cond[i:min(len(cond), j+1)])
			}
			i, operands = j, operands+1
		case isIdentStart(c):
			j := i
			for j < len(cond) && isIdent(cond[j]) {
				j++
			}
			word := cond[i:j]
			lw := strings.ToLower(word)
			next := j
			for next < len(cond) && (cond[next] == ' ' || cond[next] == '\t' || cond[next] == '\n' || cond[next] == '\r') {
				next++
			}
			call := next < len(cond) && cond[next] == '('
			switch {
			case statementWords[lw] && known[lw] && !call:
				return bad(i, "column %s is also an SQL keyword: write it in double quotes (\"%s\")", word, word)
			case statementWords[lw]:
				return bad(i, "%s is not allowed (a condition is one expression: no sub-queries or other clauses)", strings.ToUpper(word))
			case call && functions[lw]:
			case keywords[lw]:
			case known[lw] && !call:
				operands++
			case call:
				return bad(i, "unknown function %s()", word)
			default:
				return bad(i, "unknown column %q (columns: %s)", word, strings.Join(columns, ", "))
			}
			if next < len(cond) && cond[next] == '.' {
				return bad(next, "qualified names are not allowed")
			}
			i = j
		case c == '(':
			depth++
			i++
		case c == ')':
			depth--
			if depth < 0 {
				return bad(i, "unbalanced ')'")
			}
			i++
		case strings.IndexByte("=<>!+-*/%|&~,", c) >= 0:
			i++
		case c == '.':
			return bad(i, "qualified names are not allowed")
		default:
			return bad(i, "unexpected character %q", rune(c))
		}
	}
	if depth != 0 {
		return fmt.Errorf("%w: %d unclosed '('", ErrBadFilter, depth)
	}
	if operands == 0 {
		return fmt.Errorf("%w: no column or value in condition %q", ErrBadFilter, cond)
	}
	return nil
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isHex(c byte) bool        { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdent(c byte) bool      { return isIdentStart(c) || isDigit(c) }
