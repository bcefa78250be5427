/** A listener for an event whose arguments are the tuple `Args`. */
export type Listener<Args extends unknown[]> = (...args: Args) => void;

/**
 * A minimal typed event emitter that works in browsers and Node alike (no Node `events`).
 * `Events` maps each event name to the tuple of arguments its listeners receive.
 * A listener that throws never breaks `emit`: the error goes to `onListenerError`.
 */
export class TypedEventEmitter<Events extends { [E in keyof Events]: unknown[] }> {
  /**
   * Each event's listeners, replaced (never changed in place) by `on` and `off`: `emit` walks the array
   * it found without copying it, so listeners that add or remove listeners do not change that round.
   */
  private readonly listeners = new Map<keyof Events, readonly Listener<never>[]>();

  /**
   * @param onListenerError receives whatever a listener throws; default: ignore it.
   */
  constructor(private readonly onListenerError: (error: unknown, event: keyof Events) => void = () => undefined) {}

  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof Events>(event: E, listener: Listener<Events[E]>): () => void {
    const current = this.listeners.get(event) ?? [];
    if (!current.includes(listener as Listener<never>)) {
      this.listeners.set(event, [...current, listener as Listener<never>]);
    }
    return () => this.off(event, listener);
  }

  /** Adds a listener that runs at most once; returns a function that removes it. */
  once<E extends keyof Events>(event: E, listener: Listener<Events[E]>): () => void {
    const remove = this.on(event, (...args: Events[E]) => {
      remove();
      listener(...args);
    });
    return remove;
  }

  /** Removes a listener added with `on`. */
  off<E extends keyof Events>(event: E, listener: Listener<Events[E]>): void {
    const current = this.listeners.get(event);
    if (!current?.includes(listener as Listener<never>)) return;
    const remaining = current.filter((candidate) => candidate !== listener);
    if (remaining.length === 0) this.listeners.delete(event);
    else this.listeners.set(event, remaining);
  }

  /** Calls every listener of `event` in the order they were added; returns whether there was any. */
  emit<E extends keyof Events>(event: E, ...args: Events[E]): boolean {
    const listeners = this.listeners.get(event);
    if (!listeners) return false;
    for (let index = 0; index < listeners.length; index += 1) {
      const listener = listeners[index]!;
      try {
        (listener as Listener<Events[E]>)(...args);
      } catch (error) {
        this.reportListenerError(error, event);
      }
    }
    return true;
  }

  /** How many listeners `event` has. */
  listenerCount(event: keyof Events): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  /** Removes every listener of every event. */
  removeAllListeners(): void {
    this.listeners.clear();
  }

  private reportListenerError(error: unknown, event: keyof Events): void {
    try {
      this.onListenerError(error, event);
    } catch {
      // The error reporter itself failed; there is nowhere left to report to.
    }
  }
}
