/**
 * A first-in first-out queue (for the frames and writes a FramedChannel holds) with O(1) removal at the head (an array's
 * shift is linear, and a burst of small frames can queue tens of thousands).
 */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The item `index` places from the head (0 is the head); the caller checks the bounds. */
  at(index: number): T {
    return this.items[this.head + index]!;
  }

  /** Removes and returns the head; the caller checks that there is one. */
  shift(): T {
    const item = this.items[this.head]!;
    this.items[this.head++] = undefined as T; // let it be collected
    this.compact();
    return item;
  }

  /** Removes and returns the first `count` items (fewer if there are fewer). */
  take(count: number): T[] {
    const end = Math.min(this.items.length, this.head + count);
    const taken = this.items.slice(this.head, end);
    this.items.fill(undefined as T, this.head, end);
    this.head = end;
    this.compact();
    return taken;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }

  private compact(): void {
    if (this.head === this.items.length) this.clear();
    else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
