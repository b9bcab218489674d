/** The environment variable naming the DNS writer's FIFO queue (set by the stack). */
export const DNS_CHANGE_QUEUE_ENV = 'DNS_CHANGE_QUEUE_URL';
