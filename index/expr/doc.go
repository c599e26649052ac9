// Package expr is segd's expression language (SPEC §4): Parse and
// ParseMeasure turn text into a tree of Nodes, Format and FormatMeasure print
// a tree back as canonical text, and ParseTime, ParseDuration, FormatTime and
// FormatDuration read and write the times and durations of the wire API
// (SPEC §2). It knows nothing of schemas or data: whether "age >= 3" reads an
// INT field is for the engine's planner (package index) to decide.
//
// Parse errors are *SyntaxError, with a 1-based character position; errors
// of ParseTime and ParseDuration are *Error with code ERR.
package expr
