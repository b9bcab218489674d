import { config } from 'zod/mini';
import { en } from 'zod/locales';

// zod/mini registers no locale, so every issue would read "Invalid input"; classic zod registers English on its
// first schema. Importing this module gives the mini schemas the same messages either way.
if (!config().localeError) config(en());
