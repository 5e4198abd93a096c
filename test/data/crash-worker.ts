/**
 * A worker script that fails as it starts: loader.test uses it to check that a worker's uncaught
 * error reaches the loop awaiting its batch.
 */
throw new Error('crash-worker: failed on purpose');
