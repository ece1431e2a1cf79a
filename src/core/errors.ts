/**
 * A domain error with a stable snake_case code. The HTTP layer maps it once to a status and
 * a JSON body; `messageVi` is what a resident or agent reads, `message` what an operator reads.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly messageVi: string = message,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
