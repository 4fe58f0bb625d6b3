# dispatch unit tests
