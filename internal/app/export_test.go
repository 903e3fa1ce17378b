package app

import "context"

// SetImportHook makes f see every progress report of the imports a runs,
// once it is recorded, in the importing goroutine: tests stop an import
// half way with it.
func SetImportHook(a *App, f func(ctx context.Context, p ImportProgress)) { a.imports.hook = f }
