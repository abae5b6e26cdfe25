package main

import "errors"

func propagation(e *env) error { return errors.New("not yet") }
func memory(e *env) error      { return errors.New("not yet") }
func scale(e *env) error       { return errors.New("not yet") }
