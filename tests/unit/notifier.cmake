# notifier unit tests
