// The workflow bundle's entry point: every procedure the worker runs is exported here.
export {};
