package server

import (
	"fmt"
	"strconv"
)

// maxQuotedArg bounds how much of an argument a tool error echoes: enough to recognise the
// value, never enough for a hostile 900 KiB argument to come back whole (and push the
// error itself over the result-size limit, hiding which field was wrong).
const maxQuotedArg = 120

// quoteArg quotes an argument value for an error message, eliding the middle of a long one
// and saying how long it was.
func quoteArg(s string) string {
	if len(s) <= maxQuotedArg {
		return strconv.Quote(s)
	}
	head := []rune(s[:maxQuotedArg*2/3])
	tail := []rune(s[len(s)-maxQuotedArg/3:])
	// Cutting bytes may split a rune at either end; drop the broken pieces.
	if len(head) > 0 && head[len(head)-1] == '\uFFFD' {
		head = head[:len(head)-1]
	}
	if len(tail) > 0 && tail[0] == '\uFFFD' {
		tail = tail[1:]
	}
	return fmt.Sprintf("%s…%s (%d bytes)", strconv.Quote(string(head)), strconv.Quote(string(tail)), len(s))
}
