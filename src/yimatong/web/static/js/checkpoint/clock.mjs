// Can this device's clock be trusted for an offline decision? (verifier/clock.py)
// What is known of the hub's time: the signed ``issued_at`` of the freshest list (a floor: the
// hub's time now is at least that plus the time elapsed since) and the ``Date`` header of the
// hub's last answer (an estimate). Elapsed time is ``performance.now()``, which means something
// only within one page load (``BOOT``): after a reload only the floor holds, as after a reboot.
import { NEVER_SEEN, clockOff } from "./texts.mjs";

export const DEFAULT_MAX_DRIFT = 300; // seconds
export const BOOT = crypto.randomUUID();

export const timeSource = {
  wall: () => Date.now() / 1000,
  elapsed: () => performance.now() / 1000,
  boot: () => BOOT,
};

export const anchor = (hub, source, signed) => ({
  hub,
  local: source.wall(),
  elapsed: source.elapsed(),
  boot: source.boot(),
  signed,
});

/** {ok, drift, reason: [zh, en]} */
export function checkClock({ floor, estimate, source, maxDrift = DEFAULT_MAX_DRIFT }) {
  const now = source.wall();
  const elapsed = source.elapsed();
  const boot = source.boot();
  const since = (a) => (a.boot !== boot || elapsed < a.elapsed ? null : elapsed - a.elapsed);
  if (!floor && !estimate) return { ok: false, drift: null, reason: NEVER_SEEN };
  let drift = null;
  if (estimate) {
    const passed = since(estimate);
    if (passed !== null) {
      drift = now - (estimate.hub + passed);
      if (Math.abs(drift) > maxDrift) return { ok: false, drift, reason: clockOff(drift) };
    }
  }
  if (floor) {
    const lowest = floor.hub + (since(floor) ?? 0);
    if (now < lowest - maxDrift) return { ok: false, drift: now - lowest, reason: clockOff(now - lowest) };
  }
  return { ok: true, drift, reason: null };
}

/** A better floor of the two (Verifier._note_floor). */
export function betterFloor(floor, candidate, boot) {
  if (!candidate) return floor;
  if (!floor || (candidate.boot === boot && floor.boot !== boot)) return candidate;
  if (candidate.boot === floor.boot) {
    return candidate.hub - candidate.elapsed > floor.hub - floor.elapsed ? candidate : floor;
  }
  if (floor.boot !== boot && candidate.hub > floor.hub) return candidate;
  return floor;
}
