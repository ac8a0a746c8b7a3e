/** The shape of one werift workaround, as `applyWeriftPatches` runs it. */
import type { RTCPeerConnection } from "werift";

export interface WeriftPatch {
  /** Short name, used in the warning about an untested werift. */
  readonly name: string;
  /**
   * What of werift's exported classes this patch relies on and the loaded werift lacks
   * (empty when everything is there). Checked once per process, before the first use: a
   * patch with anything missing is not applied. Members that exist only on instances are
   * checked again where they are used, and the patch steps aside if they are not there.
   */
  missing(): string[];
  /**
   * Installs the patch on `pc`, right after it was created. Must not throw, and nothing it
   * installs may throw into werift's own call stacks.
   */
  apply(pc: RTCPeerConnection): void;
}

/** Whether `value` (an export of werift) is a class, i.e. werift still exports it. */
export function isClass(value: unknown): value is new (...args: never[]) => unknown {
  return typeof value === "function";
}

/** Whether `prototype` has a method called `name` (own or inherited). */
export function hasMethod(prototype: object, name: string): boolean {
  return typeof (prototype as Record<string, unknown>)[name] === "function";
}

/** Whether `prototype` (or a prototype it inherits from) defines a getter called `name`. */
export function hasGetter(prototype: object, name: string): boolean {
  for (let p: object | null = prototype; p; p = Object.getPrototypeOf(p) as object | null) {
    const descriptor = Object.getOwnPropertyDescriptor(p, name);
    if (descriptor) return typeof descriptor.get === "function";
  }
  return false;
}

/** The names of `checks` whose value is false, each prefixed with `owner.`. */
export function missingMembers(owner: string, checks: Record<string, boolean>): string[] {
  return Object.entries(checks)
    .filter(([, present]) => !present)
    .map(([name]) => `${owner}.${name}`);
}
