/**
 * What a library default needs from the live process environment that is not configuration:
 * PATH and LANG handed to a spawned worker, the project root override used by the worker bundler
 * (TETHER_ROOT, tooling and tests only), DOCKER_HOST for Docker clients made without settings
 * (tests and scripts set it after import), and the environment getTetherServer hands to
 * loadSettings (the bundled app has no entry file of its own). Read here, at call time, so that src/ reads
 * process.env only inside src/lib/settings and the entry points.
 */
export function hostEnv(): Readonly<Record<string, string | undefined>> {
  return process.env
}
