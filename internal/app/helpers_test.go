package app_test

import "simplesender/internal/store"

func storeFilter() store.UserFilter { return store.UserFilter{} }
