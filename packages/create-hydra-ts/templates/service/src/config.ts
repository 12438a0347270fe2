/**
 * The service's own config section, beside Hydra's: `"greeting": {"text": "Hello"}` in
 * config/config.json (or in the config stored in Redis). Checked before the service
 * registers, so a bad section stops the start with the field named.
 */
import type { ConfigDocument } from '@hydra-ts/core';

/** The "greeting" section. */
export interface GreetingSettings {
  /** What GET /hello and the message handler answer with. */
  text: string;
}

/** The whole config document of this service. */
export interface ServiceConfig extends ConfigDocument {
  greeting: GreetingSettings;
}

/** The "greeting" section of a loaded config, or an error naming the bad field. */
export function readGreeting(doc: ConfigDocument): GreetingSettings {
  const section = doc.greeting;
  if (typeof section !== 'object' || section === null) throw new Error('config field "greeting" must be an object like {"text": "Hello"}');
  const { text } = section as Record<string, unknown>;
  if (typeof text !== 'string' || text.trim() === '') throw new Error('config field greeting.text must be a non-empty string');
  return { text };
}
