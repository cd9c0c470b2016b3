export async function runReads(_o: { sizes: number[]; reps: number; now: Date }): Promise<void> {}
