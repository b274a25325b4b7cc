// Package codecheck holds tests that enforce the code base's own rules
// across every package: each package has a doc comment, and SQL is never
// built from strings (only $N parameters carry values). It has no code of
// its own; the rules live in its tests.
package codecheck
